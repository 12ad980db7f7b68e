package runner

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePlanSharesTheTopLevelExecutorByWeight(t *testing.T) {
	p, err := ParsePlan([]byte(`
executor: constant-workers
workers: 10
iterations: 1000
thresholds: ["token:p99<250ms", "error_rate<0.1%"]
scenarios:
  - flow: client_credentials
    weight: 2
  - flow: refresh
    weight: 1
  - name: login
    flow: authorization_code
    consent: http
    rate: 5
    duration: 30s
    max_in_flight: 4
`), testFlows)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Scenarios) != 3 || len(p.Thresholds) != 2 {
		t.Fatalf("plan %+v", p)
	}
	cc, rt, login := p.Scenarios[0].Executor, p.Scenarios[1].Executor, p.Scenarios[2].Executor
	if cc.Workers != 7 || rt.Workers != 3 || cc.Iterations != 667 || rt.Iterations != 333 {
		t.Errorf("shares: cc %d workers %d iterations, refresh %d/%d; want 7/667 and 3/333", cc.Workers, cc.Iterations, rt.Workers, rt.Iterations)
	}
	if login.Kind != ExecutorConstantArrivalRate || login.Rate != 5 || login.Duration != 30*time.Second || login.MaxInFlight != 4 {
		t.Errorf("own executor %+v", login)
	}
	if p.Scenarios[2].Name != "login" || p.Scenarios[2].Consent != "http" || p.Scenarios[0].Name != "client_credentials" {
		t.Errorf("names %+v", p.Scenarios)
	}
}

func TestParsePlanRamping(t *testing.T) {
	p, err := ParsePlan([]byte(`
scenarios:
  - flow: client_credentials
    start_rate: 0
    stages:
      - {duration: 10s, target: 10}
      - {duration: 10s, target: 10}
`), testFlows)
	if err != nil {
		t.Fatal(err)
	}
	ex := p.Scenarios[0].Executor
	if ex.Kind != ExecutorRampingArrivalRate || ex.PlannedDuration() != 20*time.Second || ex.TargetRate() != 7.5 {
		t.Errorf("ramping %+v: duration %v target rate %v", ex, ex.PlannedDuration(), ex.TargetRate())
	}
}

func TestParsePlanErrorsNameTheField(t *testing.T) {
	for doc, field := range map[string]string{
		"scenarios: []": "scenarios",
		"scenarios: [{flow: implicit, rate: 1, duration: 1s}]":                                              "scenarios[0].flow",
		"scenarios: [{rate: 1, duration: 1s}]":                                                              "scenarios[0].flow",
		"scenarios: [{flow: refresh, rate: -1, duration: 1s}]":                                              "scenarios[0].rate",
		"scenarios: [{flow: refresh, rate: 1}]":                                                             "scenarios[0].duration",
		"scenarios: [{flow: refresh, rate: 1, duration: soon}]":                                             "scenarios[0].duration",
		"scenarios: [{flow: refresh, workers: 0, duration: 1s}]":                                            "scenarios[0].workers",
		"scenarios: [{flow: refresh, workers: 2}]":                                                          "scenarios[0].duration",
		"scenarios: [{flow: refresh, consent: http, workers: 1, duration: 1s}]":                             "scenarios[0].consent",
		"scenarios: [{flow: authorization_code, consent: tv, workers: 1, duration: 1s}]":                    "scenarios[0].consent",
		"scenarios: [{flow: refresh, weight: 0, workers: 1, duration: 1s}]":                                 "scenarios[0].weight",
		"scenarios: [{flow: refresh, executor: poisson}]":                                                   "scenarios[0].executor",
		"scenarios: [{flow: refresh, stages: [{duration: 1s}]}]":                                            "scenarios[0].stages[0].target",
		"scenarios: [{flow: refresh}]":                                                                      "scenarios[0]",
		"scenarios: [{flow: refresh, workers: 1, duration: 1s, ratee: 3}]":                                  "ratee",
		"thresholds: [p99]\nscenarios: [{flow: refresh, workers: 1, duration: 1s}]":                         "thresholds",
		"scenarios: [{flow: refresh, workers: 1, duration: 1s}, {flow: refresh, workers: 1, duration: 1s}]": "scenarios[1].name",
		// What the runner cannot schedule is refused naming the field (issue 13).
		"scenarios: [{flow: refresh, rate: 1e-10, duration: 10s}]":                                       "scenarios[0].rate",
		"scenarios: [{flow: refresh, rate: 1e300, duration: 10s}]":                                       "scenarios[0].rate",
		"scenarios: [{flow: refresh, rate: .nan, duration: 10s}]":                                        "scenarios[0].rate",
		"scenarios: [{flow: refresh, rate: 1, duration: 9000h}]":                                         "scenarios[0].duration",
		"scenarios: [{flow: refresh, rate: 1, duration: 1s, max_in_flight: 1000000000}]":                 "scenarios[0].max_in_flight",
		"scenarios: [{flow: refresh, workers: 1000000000, duration: 1s}]":                                "scenarios[0].workers",
		"scenarios: [{flow: refresh, workers: 1, iterations: -5}]":                                       "scenarios[0].iterations",
		"scenarios: [{flow: refresh, workers: 1, iterations: 100000000000}]":                             "scenarios[0].iterations",
		"scenarios: [{flow: refresh, start_rate: 1e-300, stages: [{duration: 1s, target: 1}]}]":          "scenarios[0].start_rate",
		"scenarios: [{flow: refresh, stages: [{duration: 1s, target: 1e12}]}]":                           "scenarios[0].stages[0].target",
		"scenarios: [{flow: refresh, stages: [{duration: 20h, target: 1}, {duration: 20h, target: 1}]}]": "scenarios[0].stages",
		"scenarios: [{flow: refresh, weight: .inf, workers: 1, duration: 1s}]":                           "scenarios[0].weight",
		"rate: 1\nduration: 1s\nscenarios: [{flow: refresh, weight: 100000}, {flow: password}]":          "scenarios[1].rate",
	} {
		_, err := ParsePlan([]byte(doc), testFlows)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s\n  error %v, want one naming %s", doc, err, field)
		}
	}
}

func TestScaleDurationKeepsTheShapeOfThePlan(t *testing.T) {
	doc := `
scenarios:
  - {flow: refresh, rate: 10, duration: 10m}
  - {flow: password, workers: 2, duration: 5m}
  - {flow: client_credentials, stages: [{duration: 2m, target: 5}, {duration: 8m, target: 0}]}
  - {flow: authorization_code, workers: 1, iterations: 7}
`
	p, err := ParsePlan([]byte(doc), testFlows)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ScaleDuration(time.Minute); err != nil {
		t.Fatal(err)
	}
	got := []time.Duration{p.Scenarios[0].Executor.Duration, p.Scenarios[1].Executor.Duration,
		p.Scenarios[2].Executor.Stages[0].Duration, p.Scenarios[2].Executor.Stages[1].Duration, p.Scenarios[3].Executor.Duration}
	want := []time.Duration{time.Minute, 30 * time.Second, 12 * time.Second, 48 * time.Second, 0}
	if !slices.Equal(got, want) {
		t.Errorf("scaled to 1m: durations %v, want %v", got, want)
	}
	if p.Scenarios[0].Executor.Rate != 10 || p.Scenarios[3].Executor.Iterations != 7 {
		t.Errorf("scaling changed rates or counts: %+v", p.Scenarios)
	}
	if err := p.ScaleDuration(0); err == nil || !strings.Contains(err.Error(), "--duration") {
		t.Errorf("a zero --duration: %v", err)
	}
	only, err := ParsePlan([]byte("scenarios: [{flow: refresh, workers: 1, iterations: 3}]"), testFlows)
	if err != nil {
		t.Fatal(err)
	}
	if err := only.ScaleDuration(time.Second); err == nil || !strings.Contains(err.Error(), "iterations only") {
		t.Errorf("a plan without durations: %v", err)
	}
}

func TestShard(t *testing.T) {
	if _, err := ParseShard("0/2"); err == nil {
		t.Error("0/2 accepted")
	}
	if _, err := ParseShard("3/2"); err == nil {
		t.Error("3/2 accepted")
	}
	ex := Executor{Kind: ExecutorConstantWorkers, Workers: 5, Iterations: 10}
	var workers int
	var iterations int64
	for i := 1; i <= 3; i++ {
		s, err := ParseShard(strings.Join([]string{string(rune('0' + i)), "3"}, "/"))
		if err != nil {
			t.Fatal(err)
		}
		part, ok := s.Apply(ex)
		if !ok {
			t.Fatalf("shard %d has nothing to do", i)
		}
		workers += part.Workers
		iterations += part.Iterations
	}
	if workers != 5 || iterations != 10 {
		t.Errorf("shards run %d workers and %d iterations, want the plan's 5 and 10", workers, iterations)
	}
	open := Executor{Kind: ExecutorConstantArrivalRate, Rate: 90, Duration: time.Second, MaxInFlight: 10}
	part, _ := Shard{Index: 2, Count: 3}.Apply(open)
	if part.Rate != 30 || part.MaxInFlight != 4 {
		t.Errorf("open shard %+v", part)
	}
	if _, ok := (Shard{Index: 3, Count: 3}).Apply(Executor{Kind: ExecutorConstantWorkers, Workers: 2, Duration: time.Second}); ok {
		t.Error("a shard without workers was given work")
	}
}

func TestParseStages(t *testing.T) {
	st, err := ParseStages("30s:100, 2m:100,30s:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 || st[1] != (Stage{Duration: 2 * time.Minute, Target: 100}) {
		t.Errorf("stages %+v", st)
	}
	for _, bad := range []string{"", "30s", "30s:-1", "x:1", "0s:5", "30s:1,"} {
		if _, err := ParseStages(bad); err == nil || !strings.Contains(err.Error(), "--stages") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	ex := Executor{Kind: ExecutorConstantArrivalRate, Rate: -1, Duration: time.Second}
	if err := ex.ValidateFlags(); err == nil || !strings.HasPrefix(err.Error(), "--rate:") {
		t.Errorf("flag validation: %v", err)
	}
	ex = Executor{Kind: ExecutorConstantWorkers, Workers: 1, Duration: time.Second, Rate: 3}
	if err := ex.ValidateFlags(); err == nil || !strings.HasPrefix(err.Error(), "--rate:") {
		t.Errorf("flag validation: %v", err)
	}
}

// testFlows stands in for runner/grants.Table, which imports this package: the
// flows these tests name, with authorization_code alone taking a consent mode.
var testFlows = fakeCatalog{"client_credentials": false, "password": false, "refresh": false, "authorization_code": true}

type fakeCatalog map[string]bool

func (c fakeCatalog) FlowNames() []string { return slices.Sorted(maps.Keys(c)) }

func (c fakeCatalog) CheckScenario(flow, consent string) (string, error) {
	takesConsent, ok := c[flow]
	switch {
	case !ok:
		return "flow", fmt.Errorf("unknown flow %q", flow)
	case consent != "" && !takesConsent:
		return "consent", fmt.Errorf("%s has no consent mode", flow)
	case consent != "" && consent != "http" && consent != "browser":
		return "consent", fmt.Errorf("%q is not http or browser", consent)
	}
	return "", nil
}
