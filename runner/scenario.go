package runner

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/grantbench/grantbench/loadresult"
)

// Executor kinds (k6's names).
const (
	// ExecutorConstantArrivalRate is the open model: iterations start at a fixed
	// rate whether or not earlier ones finished, up to MaxInFlight at once.
	ExecutorConstantArrivalRate = "constant-arrival-rate"
	// ExecutorRampingArrivalRate is the open model with a rate that moves linearly
	// through stages.
	ExecutorRampingArrivalRate = "ramping-arrival-rate"
	// ExecutorConstantWorkers is the closed model: Workers loops, each starting its
	// next iteration when the previous one ends.
	ExecutorConstantWorkers = "constant-workers"
)

// FlowCatalog is the table of flows a plan may name. The runner replays any
// Flow and spells no flow name itself: runner/grants.Table is the catalogue the
// CLI and scenario files use.
type FlowCatalog interface {
	// FlowNames lists the flows, for usage and error messages.
	FlowNames() []string
	// CheckScenario checks a scenario's flow name and consent mode ("" when it
	// sets none); on error field is the one at fault ("flow" or "consent").
	CheckScenario(flow, consent string) (field string, err error)
}

// DefaultMaxInFlight caps concurrent iterations of an open-model scenario when the
// plan does not say.
const DefaultMaxInFlight = 256

// The bounds of what the runner can schedule. A plan outside them is refused
// before anything starts, naming the field (or flag): a rate of 1e-300 or
// 1e300, or a year-long duration, is a typo, not a load test.
const (
	// MinRate and MaxRate bound an arrival rate (iterations per second). The
	// runner starts a goroutine per open-model iteration; a million a second is
	// well past what one machine's flows reach. Ramping rates may also be 0.
	MinRate = 0.001
	MaxRate = 1_000_000
	// MaxDuration bounds a scenario's length (every stage together), and the
	// per-second series of a run kept in memory.
	MaxDuration = 24 * time.Hour
	// MaxConcurrency bounds workers and max_in_flight: each is a goroutine and
	// usually a connection, and setup seeds material for each.
	MaxConcurrency = 100_000
	// MaxIterations bounds an iteration budget.
	MaxIterations = 1_000_000_000
	// MaxStages bounds a ramping plan's stages.
	MaxStages = 1000
	// MaxWeight bounds a scenario's weight (weights are relative; their shares
	// must still give rates inside the bounds above).
	MaxWeight = 1_000_000
)

// Stage is one leg of a ramping-arrival-rate executor: the rate moves linearly to
// Target (iterations per second) over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Executor says how a scenario's iterations are scheduled.
type Executor struct {
	Kind string
	// Rate is the arrival rate (iterations per second) of constant-arrival-rate.
	Rate float64
	// StartRate and Stages define ramping-arrival-rate.
	StartRate float64
	Stages    []Stage
	// Duration bounds constant-arrival-rate and constant-workers.
	Duration time.Duration
	// MaxInFlight caps concurrent iterations of the open models.
	MaxInFlight int
	// Workers and Iterations define constant-workers; Iterations 0 means
	// unbounded (Duration ends the scenario).
	Workers    int
	Iterations int64
}

// ScenarioSpec is one scenario as written in a plan: a flow name and an executor.
type ScenarioSpec struct {
	Name string
	Flow string
	// Consent is the scenario's own consent mode, for a flow that takes one
	// ("" follows the run's).
	Consent  string
	Weight   float64
	Executor Executor
}

// Plan is a parsed scenario file (or the flag form): scenarios and thresholds.
type Plan struct {
	Scenarios  []ScenarioSpec
	Thresholds []string
}

// planFile is the YAML layout of a scenario file. Scenarios without their own
// executor share the top-level one by weight: its rate, workers, iterations and
// max_in_flight are split among them in proportion to their weights.
type planFile struct {
	executorFile `yaml:",inline"`
	Thresholds   []string       `yaml:"thresholds"`
	Scenarios    []scenarioFile `yaml:"scenarios"`
}

type executorFile struct {
	Executor    string      `yaml:"executor"`
	Rate        *float64    `yaml:"rate"`
	StartRate   *float64    `yaml:"start_rate"`
	Stages      []stageFile `yaml:"stages"`
	Duration    string      `yaml:"duration"`
	MaxInFlight *int        `yaml:"max_in_flight"`
	Workers     *int        `yaml:"workers"`
	Iterations  *int64      `yaml:"iterations"`
}

type stageFile struct {
	Duration string   `yaml:"duration"`
	Target   *float64 `yaml:"target"`
}

type scenarioFile struct {
	executorFile `yaml:",inline"`
	Name         string   `yaml:"name"`
	Flow         string   `yaml:"flow"`
	Consent      string   `yaml:"consent"`
	Weight       *float64 `yaml:"weight"`
}

func (e executorFile) isSet() bool {
	return e.Executor != "" || e.Rate != nil || e.StartRate != nil || len(e.Stages) > 0 ||
		e.Duration != "" || e.MaxInFlight != nil || e.Workers != nil || e.Iterations != nil
}

// LoadPlan reads a scenario file whose flows are those of catalog.
func LoadPlan(path string, catalog FlowCatalog) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runner: read scenario file: %w", err)
	}
	p, err := ParsePlan(data, catalog)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePlan parses a scenario file's YAML. Unknown fields are errors, so a typo
// does not silently run a different test; errors name the field. Flow names and
// consent modes are checked against catalog.
func ParsePlan(data []byte, catalog FlowCatalog) (*Plan, error) {
	var f planFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	if len(f.Scenarios) == 0 {
		return nil, errors.New("scenarios: at least one scenario is needed")
	}
	plan := &Plan{Thresholds: f.Thresholds}
	if _, err := loadresult.ParseThresholds(f.Thresholds); err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
	}
	var shared []int // indexes of scenarios that share the top-level executor
	var sharedWeight float64
	names := map[string]bool{}
	for i, s := range f.Scenarios {
		field := fmt.Sprintf("scenarios[%d]", i)
		spec := ScenarioSpec{Name: s.Name, Flow: s.Flow, Consent: s.Consent, Weight: 1}
		if spec.Name == "" {
			spec.Name = s.Flow
		}
		if s.Weight != nil {
			if !(*s.Weight > 0 && *s.Weight <= MaxWeight) {
				return nil, fmt.Errorf("%s.weight: must be a positive number up to %d, got %v", field, MaxWeight, *s.Weight)
			}
			spec.Weight = *s.Weight
		}
		if err := checkFlow(catalog, field, spec.Flow, spec.Consent); err != nil {
			return nil, err
		}
		if names[spec.Name] {
			return nil, fmt.Errorf("%s.name: %q is used twice; give each scenario its own name", field, spec.Name)
		}
		names[spec.Name] = true
		if s.isSet() {
			ex, err := s.executorFile.build(field)
			if err != nil {
				return nil, err
			}
			spec.Executor = ex
		} else {
			shared = append(shared, i)
			sharedWeight += spec.Weight
		}
		plan.Scenarios = append(plan.Scenarios, spec)
	}
	if len(shared) > 0 {
		if !f.executorFile.isSet() {
			return nil, fmt.Errorf("scenarios[%d]: no executor: give it one, or give the file a top-level executor to share", shared[0])
		}
		top, err := f.executorFile.build("(top level)")
		if err != nil {
			return nil, err
		}
		weights := make([]float64, len(shared))
		for j, i := range shared {
			weights[j] = plan.Scenarios[i].Weight / sharedWeight
		}
		for j, i := range shared {
			ex := shareExecutor(top, weights, j)
			// A share can fall outside the bounds the whole is inside (a
			// tiny weight's part of a small rate).
			if err := ex.Validate(fmt.Sprintf("scenarios[%d]", i)); err != nil {
				return nil, fmt.Errorf("%w (its weight's share of the top-level executor)", err)
			}
			plan.Scenarios[i].Executor = ex
		}
	} else if f.executorFile.isSet() {
		return nil, errors.New("(top level): an executor is given but every scenario has its own; remove one")
	}
	return plan, nil
}

func checkFlow(catalog FlowCatalog, field, flow, consent string) error {
	if flow == "" {
		return fmt.Errorf("%s.flow: missing (one of %s)", field, strings.Join(catalog.FlowNames(), ", "))
	}
	if name, err := catalog.CheckScenario(flow, consent); err != nil {
		return fmt.Errorf("%s.%s: %w", field, name, err)
	}
	return nil
}

func (e executorFile) build(field string) (Executor, error) {
	ex := Executor{Kind: e.Executor}
	if e.Duration != "" {
		d, err := time.ParseDuration(e.Duration)
		if err != nil || d <= 0 {
			return Executor{}, fmt.Errorf("%s.duration: %q is not a positive duration (e.g. 30s)", field, e.Duration)
		}
		if d > MaxDuration {
			return Executor{}, fmt.Errorf("%s.duration: %s is longer than the runner schedules (at most %s)", field, e.Duration, MaxDuration)
		}
		ex.Duration = d
	}
	if ex.Kind == "" {
		switch {
		case len(e.Stages) > 0:
			ex.Kind = ExecutorRampingArrivalRate
		case e.Rate != nil:
			ex.Kind = ExecutorConstantArrivalRate
		default:
			ex.Kind = ExecutorConstantWorkers
		}
	}
	if e.Rate != nil {
		ex.Rate = *e.Rate
	}
	if e.StartRate != nil {
		ex.StartRate = *e.StartRate
	}
	if e.MaxInFlight != nil {
		ex.MaxInFlight = *e.MaxInFlight
	}
	if e.Workers != nil {
		ex.Workers = *e.Workers
	}
	if e.Iterations != nil {
		ex.Iterations = *e.Iterations
	}
	if len(e.Stages) > MaxStages {
		return Executor{}, fmt.Errorf("%s.stages: %d stages, at most %d", field, len(e.Stages), MaxStages)
	}
	for i, st := range e.Stages {
		d, err := time.ParseDuration(st.Duration)
		if err != nil || d <= 0 {
			return Executor{}, fmt.Errorf("%s.stages[%d].duration: %q is not a positive duration", field, i, st.Duration)
		}
		if st.Target == nil {
			return Executor{}, fmt.Errorf("%s.stages[%d].target: missing (iterations per second at the end of the stage)", field, i)
		}
		ex.Stages = append(ex.Stages, Stage{Duration: d, Target: *st.Target})
	}
	if err := ex.Validate(field); err != nil {
		return Executor{}, err
	}
	return ex, nil
}

// Validate checks the executor; errors name the field as in a scenario file,
// prefixed with field ("scenarios[0].rate: ...").
func (ex Executor) Validate(field string) error {
	return ex.validate(func(name string) string { return field + "." + name })
}

// ValidateFlags checks an executor built from command-line flags; errors name the
// flag ("--rate: ...").
func (ex Executor) ValidateFlags() error {
	return ex.validate(func(name string) string {
		name, _, _ = strings.Cut(name, "[") // stages[0].target -> --stages
		return "--" + strings.ReplaceAll(name, "_", "-")
	})
}

func (ex Executor) validate(fieldName func(string) string) error {
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("%s: %s", fieldName(name), fmt.Sprintf(format, args...))
	}
	// inRate is a rate the pacer schedules; NaN fails every comparison.
	inRate := func(v float64) bool { return v >= MinRate && v <= MaxRate }
	rateBounds := fmt.Sprintf("between %g and %g iterations per second", float64(MinRate), float64(MaxRate))
	durationOK := func(d time.Duration) bool { return d > 0 && d <= MaxDuration }
	if ex.MaxInFlight < 0 || ex.MaxInFlight > MaxConcurrency {
		return bad("max_in_flight", "must be between 1 and %d (0: the default %d), got %d", MaxConcurrency, DefaultMaxInFlight, ex.MaxInFlight)
	}
	switch ex.Kind {
	case ExecutorConstantArrivalRate:
		if !inRate(ex.Rate) {
			return bad("rate", "must be %s, got %v", rateBounds, ex.Rate)
		}
		if ex.Duration <= 0 {
			return bad("duration", "missing (how long to keep the rate, e.g. 30s)")
		}
		if !durationOK(ex.Duration) {
			return bad("duration", "must be positive and at most %s, got %s", MaxDuration, ex.Duration)
		}
		if ex.Workers != 0 || ex.Iterations != 0 {
			return bad("workers", "workers and iterations belong to constant-workers; the open model uses rate, duration and max_in_flight")
		}
	case ExecutorRampingArrivalRate:
		if len(ex.Stages) == 0 {
			return bad("stages", "missing (a list of {duration, target})")
		}
		if len(ex.Stages) > MaxStages {
			return bad("stages", "%d stages, at most %d", len(ex.Stages), MaxStages)
		}
		if ex.StartRate != 0 && !inRate(ex.StartRate) {
			return bad("start_rate", "must be 0 or %s, got %v", rateBounds, ex.StartRate)
		}
		var total time.Duration
		for i, st := range ex.Stages {
			if st.Target != 0 && !inRate(st.Target) {
				return bad(fmt.Sprintf("stages[%d].target", i), "must be 0 or %s, got %v", rateBounds, st.Target)
			}
			if !durationOK(st.Duration) {
				return bad(fmt.Sprintf("stages[%d].duration", i), "must be positive and at most %s, got %s", MaxDuration, st.Duration)
			}
			total += st.Duration // no overflow: MaxStages × MaxDuration fits
		}
		if total > MaxDuration {
			return bad("stages", "last %s together, longer than the runner schedules (at most %s)", total, MaxDuration)
		}
		if ex.Duration != 0 || ex.Rate != 0 {
			return bad("duration", "ramping-arrival-rate takes its length and rates from stages; remove duration and rate")
		}
		if ex.Workers != 0 || ex.Iterations != 0 {
			return bad("workers", "workers and iterations belong to constant-workers")
		}
	case ExecutorConstantWorkers:
		if ex.Workers <= 0 || ex.Workers > MaxConcurrency {
			return bad("workers", "must be between 1 and %d, got %d", MaxConcurrency, ex.Workers)
		}
		if ex.Iterations < 0 || ex.Iterations > MaxIterations {
			return bad("iterations", "must be between 1 and %d (0: bounded by the duration only), got %d", MaxIterations, ex.Iterations)
		}
		if ex.Duration < 0 || ex.Duration > MaxDuration {
			return bad("duration", "must be positive and at most %s, got %s", MaxDuration, ex.Duration)
		}
		if ex.Duration == 0 && ex.Iterations == 0 {
			return bad("duration", "constant-workers needs a duration, an iteration count or both")
		}
		if ex.Rate != 0 || len(ex.Stages) > 0 {
			return bad("rate", "constant-workers is the closed model and has no rate; use constant-arrival-rate")
		}
		if ex.MaxInFlight != 0 {
			return bad("max_in_flight", "constant-workers runs exactly its workers at once; max_in_flight belongs to the open model")
		}
	default:
		return bad("executor", "unknown executor %q (one of %s, %s, %s)", ex.Kind,
			ExecutorConstantArrivalRate, ExecutorRampingArrivalRate, ExecutorConstantWorkers)
	}
	return nil
}

// PlannedDuration is how long the scheduling phase lasts (0 for constant-workers
// bounded by iterations only).
func (ex Executor) PlannedDuration() time.Duration {
	if ex.Kind == ExecutorRampingArrivalRate {
		var d time.Duration
		for _, st := range ex.Stages {
			d += st.Duration
		}
		return d
	}
	return ex.Duration
}

// TargetRate is the planned average arrival rate (0 for the closed model).
func (ex Executor) TargetRate() float64 {
	switch ex.Kind {
	case ExecutorConstantArrivalRate:
		return ex.Rate
	case ExecutorRampingArrivalRate:
		d := ex.PlannedDuration()
		if d <= 0 {
			return 0
		}
		return float64(newRampingPacer(ex.StartRate, ex.Stages).planned) / d.Seconds()
	}
	return 0
}

// shareExecutor gives scenario j its weight's share of a shared executor.
func shareExecutor(top Executor, weights []float64, j int) Executor {
	ex := top
	w := weights[j]
	ex.Rate = top.Rate * w
	ex.StartRate = top.StartRate * w
	ex.Stages = make([]Stage, len(top.Stages))
	for i, st := range top.Stages {
		ex.Stages[i] = Stage{Duration: st.Duration, Target: st.Target * w}
	}
	if top.MaxInFlight > 0 {
		ex.MaxInFlight = max(1, int(math.Ceil(float64(top.MaxInFlight)*w)))
	}
	if top.Workers > 0 {
		ex.Workers = splitInt(int64(top.Workers), weights, j)
		ex.Workers = max(ex.Workers, 1)
	}
	if top.Iterations > 0 {
		ex.Iterations = max(int64(splitInt(top.Iterations, weights, j)), 1)
	}
	return ex
}

// splitInt splits total among weights (summing to 1) by the largest remainder
// method, so the shares add up to total exactly.
func splitInt(total int64, weights []float64, j int) int {
	shares := make([]int64, len(weights))
	type rem struct {
		i    int
		frac float64
	}
	var given int64
	rems := make([]rem, len(weights))
	for i, w := range weights {
		exact := float64(total) * w
		shares[i] = int64(math.Floor(exact))
		given += shares[i]
		rems[i] = rem{i, exact - math.Floor(exact)}
	}
	// Hand out what flooring left over, biggest remainders first (ties: lowest index).
	for left := total - given; left > 0; left-- {
		best := -1
		for k, r := range rems {
			if best < 0 || r.frac > rems[best].frac {
				best = k
			}
		}
		shares[rems[best].i]++
		rems[best].frac = -1
	}
	return int(shares[j])
}

// MaxShards bounds a distributed run's shard count.
const MaxShards = 10_000

// Shard is this runner's part of a distributed run: Index in [1, Count].
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/n" (1-based: 1/4 ... 4/4).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n || n > MaxShards {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 1 <= i <= n <= %d, e.g. 2/4", s, MaxShards)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Apply returns this shard's share of the executor: the rate divided by the shard
// count, and workers and iterations split so that all shards together run exactly
// the plan. A shard whose share of workers or iterations is zero gets ok=false:
// it has nothing to do for this scenario.
func (s Shard) Apply(ex Executor) (Executor, bool) {
	if s.Count <= 1 {
		return ex, true
	}
	weights := make([]float64, s.Count)
	for i := range weights {
		weights[i] = 1 / float64(s.Count)
	}
	j := s.Index - 1
	out := ex
	out.Rate = ex.Rate / float64(s.Count)
	out.StartRate = ex.StartRate / float64(s.Count)
	out.Stages = make([]Stage, len(ex.Stages))
	for i, st := range ex.Stages {
		out.Stages[i] = Stage{Duration: st.Duration, Target: st.Target / float64(s.Count)}
	}
	if ex.MaxInFlight > 0 {
		out.MaxInFlight = max(1, (ex.MaxInFlight+s.Count-1)/s.Count)
	}
	if ex.Kind == ExecutorConstantWorkers {
		out.Workers = splitInt(int64(ex.Workers), weights, j)
		if ex.Iterations > 0 {
			out.Iterations = int64(splitInt(ex.Iterations, weights, j))
			if out.Iterations == 0 {
				return out, false
			}
		}
		if out.Workers == 0 {
			return out, false
		}
	}
	return out, true
}

// ParseStages parses the --stages flag: comma-separated duration:target pairs,
// e.g. "30s:100,2m:100,30s:0" (ramp to 100/s over 30 s, hold 2 min, ramp down).
func ParseStages(s string) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		d, target, ok := strings.Cut(strings.TrimSpace(part), ":")
		dur, err1 := time.ParseDuration(d)
		rate, err2 := strconv.ParseFloat(target, 64)
		if !ok || err1 != nil || err2 != nil || dur <= 0 || rate < 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
			return nil, fmt.Errorf("--stages: stage %d %q: want duration:rate, e.g. 30s:100", i+1, part)
		}
		out = append(out, Stage{Duration: dur, Target: rate})
	}
	return out, nil
}

// ScaleDuration stretches or shrinks the plan in time so that its longest
// scenario lasts d (the --duration of a scenario file): every duration and
// stage is multiplied by the same factor, so scenarios keep their lengths
// relative to each other and a ramp keeps its shape; rates and iteration counts
// stay. A plan of one duration simply gets d. Scenarios bounded only by an
// iteration count are left as they are; a plan with no duration at all is an
// error.
func (p *Plan) ScaleDuration(d time.Duration) error {
	if d <= 0 || d > MaxDuration {
		return fmt.Errorf("--duration: must be positive and at most %s, got %s", MaxDuration, d)
	}
	var longest time.Duration
	for _, s := range p.Scenarios {
		longest = max(longest, s.Executor.PlannedDuration())
	}
	if longest == 0 {
		return errors.New("--duration: the scenario file's scenarios are bounded by iterations only; there is no duration to scale")
	}
	factor := float64(d) / float64(longest)
	scale := func(x time.Duration) time.Duration {
		if x == 0 {
			return 0
		}
		// At least a millisecond, so a short stage of a long plan survives.
		return max(time.Duration(math.Round(float64(x)*factor)), time.Millisecond)
	}
	for i := range p.Scenarios {
		ex := &p.Scenarios[i].Executor
		if ex.PlannedDuration() == longest && len(ex.Stages) == 0 {
			ex.Duration = d // exact, whatever the rounding
		} else {
			ex.Duration = scale(ex.Duration)
		}
		stages := make([]Stage, len(ex.Stages))
		for j, st := range ex.Stages {
			stages[j] = Stage{Duration: scale(st.Duration), Target: st.Target}
		}
		ex.Stages = stages
		if err := ex.Validate(fmt.Sprintf("scenarios[%d] (scaled by --duration)", i)); err != nil {
			return err
		}
	}
	return nil
}
