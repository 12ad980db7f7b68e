package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock jumps: SleepUntil moves time forward to the deadline at once, so a
// schedule of any length runs instantly and deterministically.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// funcFlow is a Flow made of a function.
type funcFlow struct {
	name string
	run  func(ctx context.Context) ([]trace.Step, error)
}

func (f funcFlow) Name() string                                  { return f.name }
func (f funcFlow) Run(ctx context.Context) ([]trace.Step, error) { return f.run(ctx) }
func (f funcFlow) withName(n string) funcFlow                    { f.name = n; return f }
func okFlow(clock *fakeClock, took time.Duration) funcFlow {
	return funcFlow{name: "client_credentials", run: func(ctx context.Context) ([]trace.Step, error) {
		start := clock.Now()
		clock.Advance(took)
		return []trace.Step{{Name: "token", Start: start, End: clock.Now(), Status: 200}}, nil
	}}
}

func TestConstantArrivalRateDropsWhatCannotStart(t *testing.T) {
	clock := newFakeClock()
	var started atomic.Int64
	blocking := funcFlow{name: "client_credentials", run: func(ctx context.Context) ([]trace.Step, error) {
		started.Add(1)
		<-ctx.Done() // never finishes on its own: the cap fills up
		return []trace.Step{{Name: "token", Start: clock.Now(), End: clock.Now()}}, ctx.Err()
	}}
	reg := prometheus.NewRegistry()
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: blocking, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 10, Duration: time.Second, MaxInFlight: 3},
	}}, Options{Clock: clock, Registerer: reg, GracefulStop: -1, RunID: "r1", Version: "v"})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if sc.Started != 3 || started.Load() != 3 {
		t.Errorf("started %d (flow saw %d), want 3: the cap", sc.Started, started.Load())
	}
	if sc.Dropped[loadresult.DroppedMaxInFlight] != 7 {
		t.Errorf("dropped %v, want 7 of the 10 planned", sc.Dropped)
	}
	if sc.Flows[loadresult.OutcomeInterrupted] != 3 || res.Partial {
		t.Errorf("flows %v partial %v: the graceful stop should interrupt the 3 running ones without making the run partial", sc.Flows, res.Partial)
	}
	if sc.PlannedIterations != 10 || sc.TargetRate != 10 || sc.MaxInFlight != 3 {
		t.Errorf("plan %+v", sc)
	}
	if sc.Latency.Count != 0 {
		t.Errorf("interrupted iterations entered the latency histogram: %+v", sc.Latency)
	}
	want := `
# HELP grantbench_dropped_iterations_total Iterations that could not start when due, by reason.
# TYPE grantbench_dropped_iterations_total counter
grantbench_dropped_iterations_total{reason="max_in_flight"} 7
# HELP grantbench_run_info Always 1; identifies the run and the grantbench version.
# TYPE grantbench_run_info gauge
grantbench_run_info{run_id="r1",version="v"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), MetricDropped, MetricRunInfo); err != nil {
		t.Error(err)
	}
	var dropsInSeries int64
	for _, p := range res.Series {
		dropsInSeries += p.Dropped
	}
	if dropsInSeries != 7 {
		t.Errorf("series counts %d drops, want 7", dropsInSeries)
	}
}

func TestConstantArrivalRateRunsThePlan(t *testing.T) {
	clock := newFakeClock()
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: okFlow(clock, time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 50, Duration: 2 * time.Second},
	}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if sc.Started != 100 || sc.Flows[loadresult.OutcomeOK] != 100 || len(sc.Dropped) != 0 && sc.Dropped[loadresult.DroppedMaxInFlight] != 0 {
		t.Fatalf("started %d flows %v dropped %v, want 100 ok", sc.Started, sc.Flows, sc.Dropped)
	}
	if sc.ElapsedSeconds != 2 || sc.AchievedRate != 50 {
		t.Errorf("elapsed %v achieved %v, want 2 s and 50/s", sc.ElapsedSeconds, sc.AchievedRate)
	}
	if len(sc.Steps) != 1 || sc.Steps[0].Name != "token" || sc.Steps[0].Requests[0] != (loadresult.RequestCount{Outcome: loadresult.OutcomeOK, StatusClass: "2xx", Count: 100}) {
		t.Errorf("steps %+v", sc.Steps)
	}
	var flows int64
	for _, p := range res.Series {
		flows += p.Flows
	}
	if flows != 100 || len(res.Series) < 2 {
		t.Errorf("series holds %d flows in %d points", flows, len(res.Series))
	}
}

func TestConstantWorkersStopsAtTheIterationBudget(t *testing.T) {
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: okFlow(clock, 10*time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 4, Iterations: 101},
	}}, Options{Clock: clock, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if sc.Started != 101 || sc.Flows[loadresult.OutcomeOK] != 101 {
		t.Fatalf("started %d flows %v, want exactly 101", sc.Started, sc.Flows)
	}
	if sc.ScheduleLag.Count != 0 {
		t.Errorf("the closed model recorded schedule lag: %+v", sc.ScheduleLag)
	}
	want := `
# HELP grantbench_workers Closed-model workers running.
# TYPE grantbench_workers gauge
grantbench_workers 0
# HELP grantbench_flows_total Flow iterations finished, by outcome.
# TYPE grantbench_flows_total counter
grantbench_flows_total{flow="client_credentials",outcome="ok"} 101
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), MetricWorkers, MetricFlows); err != nil {
		t.Error(err)
	}
}

func TestConstantWorkersStopsAtTheDuration(t *testing.T) {
	clock := newFakeClock()
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: okFlow(clock, 10*time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 2, Duration: time.Second},
	}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// Each iteration moves the shared fake clock 10 ms: about 100 fit in 1 s,
	// plus at most one per other worker that checked the clock just before the end.
	n := res.Scenarios[0].Flows[loadresult.OutcomeOK]
	if n < 100 || n > 101 {
		t.Errorf("%d iterations in 1 s of 10 ms iterations, want 100 or 101", n)
	}
	if res.Scenarios[0].ElapsedSeconds != 1 {
		t.Errorf("elapsed %v", res.Scenarios[0].ElapsedSeconds)
	}
}

func TestWeightedScenariosRunSideBySide(t *testing.T) {
	clock := newFakeClock()
	plan, err := ParsePlan([]byte(`
executor: constant-arrival-rate
rate: 40
duration: 1s
max_in_flight: 400
scenarios:
  - flow: client_credentials
    weight: 3
  - flow: password
`), testFlows)
	if err != nil {
		t.Fatal(err)
	}
	var scenarios []Scenario
	for _, spec := range plan.Scenarios {
		scenarios = append(scenarios, Scenario{Name: spec.Name, Flow: okFlow(clock, time.Millisecond).withName(spec.Flow), Weight: spec.Weight, Executor: spec.Executor})
	}
	res, err := Run(context.Background(), scenarios, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Scenarios[0].Flows[loadresult.OutcomeOK]; got != 30 {
		t.Errorf("client_credentials ran %d, want 30 (3/4 of 40/s for 1 s)", got)
	}
	if got := res.Scenarios[1].Flows[loadresult.OutcomeOK]; got != 10 {
		t.Errorf("password ran %d, want 10", got)
	}
	if res.Scenarios[0].MaxInFlight != 300 || res.Scenarios[1].MaxInFlight != 100 {
		t.Errorf("max in flight split %d/%d, want 300/100", res.Scenarios[0].MaxInFlight, res.Scenarios[1].MaxInFlight)
	}
}

func TestInterruptGivesPartialResult(t *testing.T) {
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	flow := funcFlow{name: "client_credentials", run: func(fctx context.Context) ([]trace.Step, error) {
		if n.Add(1) == 5 {
			cancel() // Ctrl-C during the fifth iteration
			<-fctx.Done()
			return []trace.Step{{Name: "token", Start: clock.Now(), End: clock.Now()}}, fctx.Err()
		}
		return []trace.Step{{Name: "token", Start: clock.Now(), End: clock.Now(), Status: 200}}, nil
	}}
	res, err := Run(ctx, []Scenario{{Name: "cc", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1000}}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if !res.Partial || sc.Flows[loadresult.OutcomeOK] != 4 || sc.Flows[loadresult.OutcomeInterrupted] != 1 {
		t.Errorf("partial %v flows %v, want partial with 4 ok and 1 interrupted", res.Partial, sc.Flows)
	}
}

func TestPanickingFlowIsCountedNotFatal(t *testing.T) {
	clock := newFakeClock()
	flow := funcFlow{name: "client_credentials", run: func(context.Context) ([]trace.Step, error) { panic("bug") }}
	res, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 2, Iterations: 3}}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Scenarios[0].Flows[loadresult.OutcomeError]; got != 3 {
		t.Errorf("flows %v, want 3 errors", res.Scenarios[0].Flows)
	}
}

type preparingFlow struct {
	funcFlow
	need     SetupNeed
	prepared bool
	err      error
}

func (p *preparingFlow) Prepare(ctx context.Context, need SetupNeed) error {
	p.need, p.prepared = need, true
	return p.err
}

func TestSetupRunsBeforeTheTimedPhaseAndFailsTheRun(t *testing.T) {
	clock := newFakeClock()
	flow := &preparingFlow{funcFlow: okFlow(clock, time.Millisecond)}
	_, err := Run(context.Background(), []Scenario{{Name: "r", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 5, Duration: time.Second, MaxInFlight: 7}}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if !flow.prepared || flow.need != (SetupNeed{Concurrency: 7, Iterations: 5}) {
		t.Errorf("prepare saw %+v", flow.need)
	}
	failing := &preparingFlow{funcFlow: okFlow(clock, time.Millisecond), err: errors.New("no refresh token")}
	_, err = Run(context.Background(), []Scenario{{Name: "r", Flow: failing, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1}}}, Options{Clock: clock})
	if err == nil || !strings.Contains(err.Error(), "setup") {
		t.Errorf("failed setup gave %v", err)
	}
}

func TestRunRejectsBadScenarios(t *testing.T) {
	clock := newFakeClock()
	for _, tc := range []struct {
		name string
		sc   []Scenario
	}{
		{"none", nil},
		{"no flow", []Scenario{{Name: "x", Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1}}}},
		{"bad executor", []Scenario{{Name: "x", Flow: okFlow(clock, 0), Executor: Executor{Kind: "poisson"}}}},
		{"dup names", []Scenario{
			{Name: "x", Flow: okFlow(clock, 0), Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1}},
			{Name: "x", Flow: okFlow(clock, 0), Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1}}}},
	} {
		if _, err := Run(context.Background(), tc.sc, Options{Clock: clock}); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestProgressReportsRateAndFinal(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var reports []Progress
	_, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: okFlow(clock, time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 20}}},
		Options{Clock: clock, Progress: func(p Progress) {
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	last := reports[len(reports)-1]
	if !last.Final || last.Flows != 20 || last.Errors != 0 || last.P50 != time.Millisecond {
		t.Errorf("final progress %+v", last)
	}
}
