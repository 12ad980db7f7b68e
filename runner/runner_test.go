package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
		Name: "cc", Flow: okFlow(clock, 0), Weight: 1,
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
	// The last iterations started just before the end and ended after it.
	if e := res.Scenarios[0].ElapsedSeconds; e < 1 || e > 1.02 {
		t.Errorf("elapsed %v, want 1 s and the last iterations' 10 ms at most", e)
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

// TestRatesCountTheTimeTheRunTook is the regression test of "7.50/s while the
// run took 41 s" (issue 13): iterations still running when a 10 s schedule ends
// keep the run going, and the rate is over the time it really took, with those
// iterations reported.
func TestRatesCountTheTimeTheRunTook(t *testing.T) {
	fake := newFakeClock()
	var started, finished atomic.Int64
	release := make(chan struct{})
	slowTail := funcFlow{name: "authorization_code", run: func(ctx context.Context) ([]trace.Step, error) {
		defer finished.Add(1)
		if started.Add(1) > 75 {
			<-release // the last 25 wait for a browser tab, say
		}
		now := fake.Now()
		return []trace.Step{{Name: "token", Start: now, End: now, Status: 200}}, nil
	}}
	// The schedule's end comes once the first 75 are done; then the 25 take
	// 31 s more.
	end := fake.Now().Add(10 * time.Second)
	reg := prometheus.NewRegistry()
	clock := hookClock{fakeClock: fake, at: end, hook: func() {
		// Until the 75 have ended as the runner sees it (the in-flight
		// gauge drops after the runner's own counts) and the 25 are waiting.
		for finished.Load() < 75 || started.Load() < 100 || gaugeValue(t, reg, MetricInFlight) != 25 {
			time.Sleep(time.Millisecond)
		}
		go func() {
			fake.Advance(41 * time.Second)
			close(release)
		}()
	}}
	res, err := Run(context.Background(), []Scenario{{
		Name: "code", Flow: slowTail, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 10, Duration: 10 * time.Second},
	}}, Options{Clock: &clock, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	took := res.End.Sub(res.Start).Seconds()
	if sc.Flows[loadresult.OutcomeOK] != 100 || took < 41 || sc.ElapsedSeconds != took {
		t.Fatalf("flows %v, run took %v s, scenario elapsed %v s; want 100 ok over the whole 41+ s", sc.Flows, took, sc.ElapsedSeconds)
	}
	if want := 100 / took; sc.AchievedRate != want {
		t.Errorf("achieved %.2f/s, want %.2f/s (100 flows over %.0f s, not over the 10 s schedule)", sc.AchievedRate, want, took)
	}
	if sc.RunningAtScheduleEnd != 25 {
		t.Errorf("running at the schedule's end: %d, want the 25 that waited", sc.RunningAtScheduleEnd)
	}
}

// hookClock is a fakeClock that calls hook once, before the first sleep until
// at or later.
type hookClock struct {
	*fakeClock
	at   time.Time
	hook func()
	once sync.Once
}

func (c *hookClock) SleepUntil(ctx context.Context, t time.Time) error {
	if !t.Before(c.at) {
		c.once.Do(c.hook)
	}
	return c.fakeClock.SleepUntil(ctx, t)
}

// TestFailedFlowsHaveTheirOwnHistogram: a target refusing half the requests
// fast must not make the success latency look fast (issue 13: token:p99<50ms
// passed with the target dead half the run).
func TestFailedFlowsHaveTheirOwnHistogram(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	halfDead := funcFlow{name: "client_credentials", run: func(ctx context.Context) ([]trace.Step, error) {
		start := clock.Now()
		if n.Add(1)%2 == 0 {
			return []trace.Step{{Name: "token", Start: start, End: start.Add(100 * time.Microsecond), Err: "refused"}}, syscall.ECONNREFUSED
		}
		return []trace.Step{{Name: "token", Start: start, End: start.Add(80 * time.Millisecond), Status: 200}}, nil
	}}
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: halfDead, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 40},
	}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if sc.Latency.Count != 20 || sc.FailedLatency.Count != 20 || sc.ServiceTime.Count != 20 {
		t.Fatalf("latency %d, failed %d, service %d samples; want 20 each", sc.Latency.Count, sc.FailedLatency.Count, sc.ServiceTime.Count)
	}
	st := sc.Steps[0]
	if st.Latency.Count != 20 || st.FailedLatency.Count != 20 || st.Latency.P50Seconds < 0.079 || st.FailedLatency.MaxSeconds > 0.001 {
		t.Errorf("token step: %d ok samples (p50 %v), %d failed (max %v)", st.Latency.Count, st.Latency.P50Seconds, st.FailedLatency.Count, st.FailedLatency.MaxSeconds)
	}
	ths, err := loadresult.ParseThresholds([]string{"token:p50<50ms"})
	if err != nil {
		t.Fatal(err)
	}
	verdicts, err := loadresult.Judge(res, ths)
	if err != nil {
		t.Fatal(err)
	}
	if verdicts[0].Passed {
		t.Errorf("token:p50<50ms passed with every success taking 80 ms: %+v", verdicts[0])
	}
}

// TestUnansweredTailCountsWhatFollowedTheLastResponse: a target killed halfway
// leaves a tail of iterations without a response, counted by outcome.
func TestUnansweredTailCountsWhatFollowedTheLastResponse(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	dies := funcFlow{name: "client_credentials", run: func(ctx context.Context) ([]trace.Step, error) {
		start := clock.Now()
		clock.Advance(time.Millisecond)
		if n.Add(1) > 30 {
			return []trace.Step{{Name: "token", Start: start, End: clock.Now(), Err: "refused"}}, syscall.ECONNREFUSED
		}
		return []trace.Step{{Name: "token", Start: start, End: clock.Now(), Status: 200}}, nil
	}}
	res, err := Run(context.Background(), []Scenario{{
		Name: "cc", Flow: dies, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 100},
	}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	tail := res.Unanswered
	if tail == nil || tail.Iterations != 70 || tail.Outcomes[loadresult.OutcomeRefused] != 70 || tail.LastResponse.IsZero() || !tail.Since.After(tail.LastResponse) {
		t.Fatalf("unanswered tail %+v, want the last 70 refused after a last response", tail)
	}
	if _, stopped := res.StoppedAnswering(); !stopped {
		t.Error("70 refused iterations over the last 70 % of the run are not a target that stopped answering")
	}
	// A target that answers again ends the tail.
	n.Store(0)
	res, err = Run(context.Background(), []Scenario{{
		Name: "cc", Flow: dies, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 20},
	}}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unanswered != nil {
		t.Errorf("a run whose every iteration got a response has an unanswered tail %+v", res.Unanswered)
	}
}

// ignoringFlow blocks until release closes, whatever its context says: a flow
// with a bug, or a browser that hangs.
type ignoringFlow struct {
	release  chan struct{}
	prepare  bool
	started  atomic.Int64
	finished atomic.Int64
}

func (f *ignoringFlow) Name() string { return "client_credentials" }
func (f *ignoringFlow) Run(ctx context.Context) ([]trace.Step, error) {
	defer f.finished.Add(1)
	if f.started.Add(1) > 3 {
		<-f.release
	}
	now := time.Now()
	return []trace.Step{{Name: "token", Start: now, End: now, Status: 200}}, nil
}

type preparingIgnoringFlow struct{ *ignoringFlow }

func (f preparingIgnoringFlow) Prepare(ctx context.Context, need SetupNeed) error {
	<-f.release
	return nil
}

// TestAbandonEndsARunWhoseFlowsIgnoreTheirContext: cancelling ctx is not enough
// when a flow ignores it; Abandon (a second Ctrl-C, SIGTERM) returns at once
// with the partial result, the stuck iterations counted interrupted.
func TestAbandonEndsARunWhoseFlowsIgnoreTheirContext(t *testing.T) {
	flow := &ignoringFlow{release: make(chan struct{})}
	defer func() {
		close(flow.release) // let the stuck goroutines go, for goleak
		for flow.finished.Load() < flow.started.Load() {
			time.Sleep(time.Millisecond)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abandon := make(chan struct{})
	go func() {
		for flow.started.Load() < 5 {
			time.Sleep(time.Millisecond)
		}
		cancel() // the first Ctrl-C: the stuck flows ignore it
		time.Sleep(50 * time.Millisecond)
		close(abandon)
	}()
	type outcome struct {
		res *loadresult.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(ctx, []Scenario{{
			Name: "cc", Flow: flow, Weight: 1,
			Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 2, Duration: time.Hour},
		}}, Options{Abandon: abandon, GracefulStop: time.Hour})
		done <- outcome{res, err}
	}()
	var got outcome
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Abandon closed")
	}
	if got.err != nil || got.res == nil || !got.res.Partial {
		t.Fatalf("abandoned run: result %+v, error %v; want a partial result", got.res, got.err)
	}
	sc := got.res.Scenarios[0]
	if sc.Flows[loadresult.OutcomeOK] != 3 || sc.Flows[loadresult.OutcomeInterrupted] != 2 {
		t.Errorf("flows %v, want the 3 that finished ok and the 2 stuck ones interrupted", sc.Flows)
	}

	// Setup that ignores its context is abandoned too.
	stuck := preparingIgnoringFlow{&ignoringFlow{release: make(chan struct{})}}
	defer close(stuck.release)
	abandonSetup := make(chan struct{})
	time.AfterFunc(20*time.Millisecond, func() { close(abandonSetup) })
	setupDone := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: stuck, Weight: 1,
			Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 1}}}, Options{Abandon: abandonSetup})
		setupDone <- err
	}()
	select {
	case err := <-setupDone:
		if !errors.Is(err, ErrAbandoned) {
			t.Errorf("abandoned setup: %v, want ErrAbandoned", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Abandon closed during setup")
	}
}

// gaugeValue reads one unlabelled gauge from reg (0 when it is not there yet).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Error(err) // not Fatal: the runner's goroutine calls this
		return 0
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}
