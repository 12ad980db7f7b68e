package loadresult

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Threshold is one pass/fail criterion in k6's notation, judged at the end of a run
// on the exact (HdrHistogram) data:
//
//	[scope:]metric op value
//
// scope is a flow ("client_credentials"), a scenario name, a step ("token") or
// "flow/step"; without it the criterion covers every scenario. A name that is both
// a flow and a step ("refresh") means the flow; write "refresh/refresh" for the step.
//
// metrics and their values:
//
//	p50 p90 p99 p99.9 pNN mean min max   latency from the intended start: 250ms, 1.5s
//	service_p99 service_mean ...         the same for service time (from the actual start)
//	error_rate  dropped_rate             a ratio: 0.1% or 0.001
//	rate                                 finished iterations per second: 95, target, 0.98*target
//	dropped                              dropped iterations: 0
//
// op is one of < <= > >= ==.
type Threshold struct {
	// Expr is the expression as written.
	Expr  string
	Scope string
	// Metric is the metric name as written ("p99", "error_rate", ...).
	Metric string
	Op     string
	// Limit is the bound in base units (seconds, ratio, per second, count); for a
	// rate relative to the target it is the factor.
	Limit float64
	// Default is true for a threshold the run got without asking (see
	// WithDefaults).
	Default bool

	kind         metricKind
	quantile     float64 // percent, for kindQuantile
	service      bool    // service time instead of latency
	relToTarget  bool    // rate compared with factor × target
	showsPercent bool    // the ratio was written as a percentage
}

type metricKind int

const (
	kindQuantile metricKind = iota
	kindMean
	kindMin
	kindMax
	kindErrorRate
	kindDroppedRate
	kindRate
	kindDropped
)

// KnownSteps are the step names flows record (trace.Step.Name); threshold scopes
// are checked against them and the flow and scenario names before a run starts.
var knownSteps = [...]string{"authorize", "login", "consent", "token", "refresh", "device_authorization", "device_poll", "device_verify", "userinfo", "introspect", "revoke", "callback", "discovery"}

var thresholdPattern = regexp.MustCompile(`^\s*(?:([A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)?)\s*:)?\s*([a-z_]+[0-9.]*)\s*(<=|>=|==|<|>)\s*(.+?)\s*$`)
var quantilePattern = regexp.MustCompile(`^p([0-9]{1,2}(?:\.[0-9]+)?|100)$`)

// DefaultErrorRate bounds the error rate of a run whose thresholds bound none:
// without it a run in which every flow failed (a wrong client secret, a target
// that died halfway) passed, since nothing said failures matter.
const DefaultErrorRate = "error_rate<1%"

// WithDefaults returns thresholds with DefaultErrorRate appended, marked
// Default, unless one of them already bounds an error rate (at any scope):
// writing any error_rate threshold overrides the default, and
// error_rate<=100% switches it off.
func WithDefaults(thresholds []Threshold) []Threshold {
	for _, t := range thresholds {
		if t.kind == kindErrorRate {
			return thresholds
		}
	}
	def, err := ParseThreshold(DefaultErrorRate)
	if err != nil {
		panic("loadresult: DefaultErrorRate does not parse: " + err.Error())
	}
	def.Default = true
	return append(append([]Threshold(nil), thresholds...), def)
}

// ParseThresholds parses threshold expressions; the error names the first bad one.
func ParseThresholds(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseThreshold parses one threshold expression (see Threshold).
func ParseThreshold(expr string) (Threshold, error) {
	m := thresholdPattern.FindStringSubmatch(expr)
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: want [scope:]metric<op>value, e.g. token:p99<250ms or error_rate<0.1%%", expr)
	}
	t := Threshold{Expr: strings.TrimSpace(expr), Scope: m[1], Metric: m[2], Op: m[3]}
	value := m[4]
	metric := t.Metric
	if rest, ok := strings.CutPrefix(metric, "service_"); ok {
		t.service = true
		metric = rest
	}
	switch {
	case quantilePattern.MatchString(metric):
		t.kind = kindQuantile
		q, err := strconv.ParseFloat(metric[1:], 64)
		if err != nil || q <= 0 || q > 100 {
			return Threshold{}, fmt.Errorf("threshold %q: percentile %s is not in (0, 100]", expr, metric)
		}
		t.quantile = q
	case metric == "mean":
		t.kind = kindMean
	case metric == "min":
		t.kind = kindMin
	case metric == "max":
		t.kind = kindMax
	case t.service:
		return Threshold{}, fmt.Errorf("threshold %q: service_ goes with a latency metric (service_p99, service_mean, service_max)", expr)
	case metric == "error_rate":
		t.kind = kindErrorRate
	case metric == "dropped_rate":
		t.kind = kindDroppedRate
	case metric == "rate":
		t.kind = kindRate
	case metric == "dropped":
		t.kind = kindDropped
	default:
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q (want pNN, mean, min, max, service_pNN, error_rate, dropped_rate, rate or dropped)", expr, t.Metric)
	}
	switch t.kind {
	case kindQuantile, kindMean, kindMin, kindMax:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return Threshold{}, fmt.Errorf("threshold %q: %q is not a duration (write e.g. 250ms or 1.5s)", expr, value)
		}
		t.Limit = d.Seconds()
	case kindErrorRate, kindDroppedRate:
		ratio, percent, err := parseRatio(value)
		if err != nil {
			return Threshold{}, fmt.Errorf("threshold %q: %v", expr, err)
		}
		t.Limit, t.showsPercent = ratio, percent
	case kindRate:
		factor, rel, err := parseRate(value)
		if err != nil {
			return Threshold{}, fmt.Errorf("threshold %q: %v", expr, err)
		}
		t.Limit, t.relToTarget = factor, rel
	case kindDropped:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return Threshold{}, fmt.Errorf("threshold %q: %q is not a count", expr, value)
		}
		t.Limit = float64(n)
	}
	return t, nil
}

func parseRatio(value string) (ratio float64, percent bool, err error) {
	s := value
	if cut, ok := strings.CutSuffix(s, "%"); ok {
		s, percent = strings.TrimSpace(cut), true
	}
	v, perr := strconv.ParseFloat(s, 64)
	// ParseFloat reads "NaN" and "Inf": neither is a bound (and neither can be
	// written to load.json).
	if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("%q is not a ratio (write 0.1%% or 0.001)", value)
	}
	if percent {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, false, fmt.Errorf("%q is not a ratio between 0 and 1 (0%% and 100%%)", value)
	}
	return v, percent, nil
}

func parseRate(value string) (factor float64, relToTarget bool, err error) {
	s := strings.ReplaceAll(value, " ", "")
	if s == "target" {
		return 1, true, nil
	}
	if f, ok := strings.CutSuffix(s, "*target"); ok {
		s, relToTarget = f, true
	} else if f, ok := strings.CutPrefix(s, "target*"); ok {
		s, relToTarget = f, true
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil || !(v >= 0) || math.IsInf(v, 0) { // NaN fails v >= 0
		return 0, false, fmt.Errorf("%q is not a rate (write 95, target or 0.98*target)", value)
	}
	return v, relToTarget, nil
}

// CheckScope reports whether t's scope can name something in a run of the given
// flows and scenarios, so a typo fails before the run rather than after it.
func (t Threshold) CheckScope(flowNames, scenarioNames []string) error {
	if t.Scope == "" {
		return nil
	}
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	isStep := func(s string) bool { return has(knownSteps[:], s) }
	isFlow := func(s string) bool { return has(flowNames, s) || has(scenarioNames, s) }
	head, step, hasStep := strings.Cut(t.Scope, "/")
	switch {
	case hasStep && !isFlow(head):
		return fmt.Errorf("threshold %q: %q is not a flow or scenario of this run (have %s)", t.Expr, head, strings.Join(append(flowNames, scenarioNames...), ", "))
	case hasStep && !isStep(step):
		return fmt.Errorf("threshold %q: %q is not a step name (steps: %s)", t.Expr, step, strings.Join(knownSteps[:], ", "))
	case !hasStep && isFlow(head):
		return nil
	case !hasStep && !isStep(head):
		return fmt.Errorf("threshold %q: %q is not a flow, scenario or step of this run", t.Expr, head)
	}
	// Step level: there is no target rate and nothing is dropped per step.
	if t.kind == kindDropped || t.kind == kindDroppedRate || (t.kind == kindRate && t.relToTarget) {
		return fmt.Errorf("threshold %q: %s applies to flows and scenarios, not to steps", t.Expr, t.Metric)
	}
	return nil
}

// Judge evaluates the thresholds on r, in order.
func Judge(r *Result, thresholds []Threshold) ([]Verdict, error) {
	out := make([]Verdict, 0, len(thresholds))
	for _, t := range thresholds {
		v, err := t.judge(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// selection is what a scope picked out of a result.
type selection struct {
	scenarios []*ScenarioResult
	steps     []*StepResult // non-nil: the scope is step-level
	stepLevel bool
}

func (t Threshold) selectScope(r *Result) selection {
	var sel selection
	head, step, hasStep := strings.Cut(t.Scope, "/")
	matchesScenario := func(sc *ScenarioResult) bool {
		return t.Scope == "" || sc.Flow == head || sc.Name == head
	}
	for i := range r.Scenarios {
		sc := &r.Scenarios[i]
		if matchesScenario(sc) {
			sel.scenarios = append(sel.scenarios, sc)
		}
	}
	if hasStep || (t.Scope != "" && len(sel.scenarios) == 0) {
		if !hasStep {
			step = head
		}
		sel.stepLevel = true
		candidates := sel.scenarios
		if !hasStep {
			candidates = nil
			for i := range r.Scenarios {
				candidates = append(candidates, &r.Scenarios[i])
			}
		}
		sel.scenarios = nil
		for _, sc := range candidates {
			for j := range sc.Steps {
				if sc.Steps[j].Name == step {
					sel.steps = append(sel.steps, &sc.Steps[j])
					sel.scenarios = append(sel.scenarios, sc)
				}
			}
		}
	}
	return sel
}

func (t Threshold) judge(r *Result) (Verdict, error) {
	v := Verdict{Threshold: t.Expr, Default: t.Default}
	sel := t.selectScope(r)
	if len(sel.scenarios) == 0 {
		v.Display = "no data"
		v.Unit = t.unit()
		v.Limit = t.Limit
		return v, nil
	}
	var measured float64
	var haveData bool
	switch t.kind {
	case kindQuantile, kindMean, kindMin, kindMax:
		h, err := t.latencyOf(sel)
		if err != nil {
			return Verdict{}, fmt.Errorf("threshold %q: %w", t.Expr, err)
		}
		haveData = h.TotalCount() > 0
		switch t.kind {
		case kindQuantile:
			measured = MicrosToSeconds(h.ValueAtQuantile(t.quantile))
		case kindMean:
			measured = h.Mean() / 1e6
		case kindMin:
			measured = MicrosToSeconds(h.Min())
		case kindMax:
			measured = MicrosToSeconds(h.Max())
		}
	case kindErrorRate:
		var failed, total int64
		if sel.stepLevel {
			for _, st := range sel.steps {
				for _, c := range st.Requests {
					if c.Outcome == OutcomeInterrupted || c.Outcome == OutcomePending {
						continue
					}
					total += c.Count
					if c.Outcome != OutcomeOK {
						failed += c.Count
					}
				}
			}
		} else {
			for _, sc := range sel.scenarios {
				for outcome, n := range sc.Flows {
					if outcome == OutcomeInterrupted {
						continue
					}
					total += n
					if outcome != OutcomeOK {
						failed += n
					}
				}
			}
		}
		haveData = total > 0
		if haveData {
			measured = float64(failed) / float64(total)
		}
	case kindDropped, kindDroppedRate:
		var dropped, started int64
		for _, sc := range sel.scenarios {
			dropped += sumCounts(sc.Dropped)
			started += sc.Started
		}
		haveData = true
		measured = float64(dropped)
		if t.kind == kindDroppedRate {
			haveData = dropped+started > 0
			if haveData {
				measured = float64(dropped) / float64(dropped+started)
			}
		}
	case kindRate:
		var target float64
		if sel.stepLevel {
			var requests int64
			var elapsed float64
			for i, st := range sel.steps {
				for _, c := range st.Requests {
					requests += c.Count
				}
				if e := sel.scenarios[i].ElapsedSeconds; e > elapsed {
					elapsed = e
				}
			}
			haveData = elapsed > 0
			if haveData {
				measured = float64(requests) / elapsed
			}
		} else {
			for _, sc := range sel.scenarios {
				measured += sc.AchievedRate
				target += sc.TargetRate
				if t.relToTarget && sc.TargetRate == 0 {
					return Verdict{}, fmt.Errorf("threshold %q: scenario %q has no target rate (executor %s)", t.Expr, sc.Name, sc.Executor)
				}
			}
			haveData = true
		}
		if t.relToTarget {
			v.Limit = t.Limit * target
		}
	}
	v.Unit = t.unit()
	if !t.relToTarget {
		v.Limit = t.Limit
	}
	if !haveData {
		v.Display = "no data"
		return v, nil
	}
	v.Measured = measured
	v.Display = t.display(measured, v.Limit)
	v.Passed = compare(measured, t.Op, v.Limit)
	return v, nil
}

func (t Threshold) latencyOf(sel selection) (*hdrhistogram.Histogram, error) {
	// A step and a scenario both carry a latency and a service time; the
	// selection holds one kind or the other.
	var pairs [][2]Histogram
	if sel.stepLevel {
		for _, st := range sel.steps {
			pairs = append(pairs, [2]Histogram{st.Latency, st.ServiceTime})
		}
	} else {
		for _, sc := range sel.scenarios {
			pairs = append(pairs, [2]Histogram{sc.Latency, sc.ServiceTime})
		}
	}
	merged := NewHDR()
	for _, pair := range pairs {
		h := pair[0]
		if t.service {
			h = pair[1]
		}
		x, err := h.Histogram()
		if err != nil {
			return nil, err
		}
		merged.Merge(x)
	}
	return merged, nil
}

func compare(measured float64, op string, limit float64) bool {
	switch op {
	case "<":
		return measured < limit
	case "<=":
		return measured <= limit
	case ">":
		return measured > limit
	case ">=":
		return measured >= limit
	case "==":
		return measured == limit
	}
	return false
}

func (t Threshold) unit() string {
	switch t.kind {
	case kindErrorRate, kindDroppedRate:
		return "ratio"
	case kindRate:
		return "per_second"
	case kindDropped:
		return "count"
	}
	return "seconds"
}

func (t Threshold) display(measured, limit float64) string {
	switch t.kind {
	case kindErrorRate, kindDroppedRate:
		if t.showsPercent {
			return strconv.FormatFloat(measured*100, 'g', 4, 64) + "%"
		}
		return strconv.FormatFloat(measured, 'g', 4, 64)
	case kindRate:
		if t.relToTarget {
			return fmt.Sprintf("%.2f/s (limit %.2f/s)", measured, limit)
		}
		return fmt.Sprintf("%.2f/s", measured)
	case kindDropped:
		return strconv.FormatInt(int64(measured), 10)
	}
	return FormatSeconds(measured)
}
