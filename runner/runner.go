package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

// Clock is the runner's view of time, injectable so that the schedule arithmetic
// and dropped-iteration counting are tested without waiting.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when t has come, or with ctx's error when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until t or ctx's end.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// DefaultGracefulStop is how long iterations still running when a scenario's plan
// ends may take to finish before they are cancelled (and counted interrupted).
const DefaultGracefulStop = 30 * time.Second

// Scenario is a flow bound to an executor, ready to run.
type Scenario struct {
	Name     string
	Flow     Flow
	Consent  string
	Weight   float64
	Executor Executor
	// Classify maps an iteration's error to an outcome; nil means ClassifyError.
	Classify Classifier
}

// Options configure a run. The zero value runs on the wall clock with a private
// registry and no progress reports.
type Options struct {
	RunID, Version, Target string
	Shard                  Shard
	// Registerer receives the run's metrics (a fresh registry per run). Nil: a
	// private registry nobody scrapes.
	Registerer prometheus.Registerer
	Clock      Clock
	// GracefulStop defaults to DefaultGracefulStop; negative means cancel at once.
	GracefulStop time.Duration
	Thresholds   []loadresult.Threshold
	// Progress, when set, is called every ProgressInterval (default 1 s) during
	// the timed phase and once at its end with Final set.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Abandon, when closed, ends the run at once, even while setup or flows
	// ignore their context (a hung browser, a flow with a bug): Run returns
	// the partial result of what has finished, counting iterations still
	// running as interrupted, and leaves their goroutines behind. It is for a
	// process about to exit (a second Ctrl-C, SIGTERM); cancelling ctx is the
	// orderly stop.
	Abandon <-chan struct{}
}

// ErrAbandoned is the error of a run abandoned during setup (Options.Abandon).
var ErrAbandoned = errors.New("runner: run abandoned")

// Progress is a snapshot of a running load test.
type Progress struct {
	Elapsed, Planned time.Duration
	// Flows finished so far, of which Errors did not end "ok" (interruptions aside).
	Flows, Errors, Dropped int64
	InFlight               int64
	// Rate is flows finished per second over the last interval.
	Rate float64
	// P50 and P99 are flow latencies (from intended start) so far.
	P50, P99 time.Duration
	Final    bool
}

// Run runs the scenarios side by side and returns what they measured. The setup
// phase (Preparer) runs first and is not timed. Cancelling ctx ends the run
// early: in-flight iterations are cancelled and the result is marked partial. An
// error means the run could not start (bad plan, failed setup); faults of the
// target during the run are counted, never returned.
func Run(ctx context.Context, scenarios []Scenario, opts Options) (*loadresult.Result, error) {
	if len(scenarios) == 0 {
		return nil, errors.New("runner: no scenarios")
	}
	names := map[string]bool{}
	for i, sc := range scenarios {
		if sc.Flow == nil {
			return nil, fmt.Errorf("runner: scenario %d (%s) has no flow", i, sc.Name)
		}
		if sc.Name == "" {
			return nil, fmt.Errorf("runner: scenario %d has no name", i)
		}
		if names[sc.Name] {
			return nil, fmt.Errorf("runner: scenario name %q used twice", sc.Name)
		}
		names[sc.Name] = true
		if err := sc.Executor.Validate("scenarios[" + sc.Name + "]"); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.GracefulStop == 0 {
		opts.GracefulStop = DefaultGracefulStop
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = time.Second
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	metrics, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	metrics.runInfo.WithLabelValues(opts.RunID, opts.Version).Set(1)

	ctx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	abandon := opts.Abandon
	if abandon != nil {
		go func() {
			select {
			case <-abandon:
				cancelRun()
			case <-ctx.Done():
			}
		}()
	}

	// Setup: untimed, before the clock of the timed phase starts.
	for _, sc := range scenarios {
		p, ok := sc.Flow.(Preparer)
		if !ok {
			continue
		}
		need := SetupNeed{Concurrency: concurrencyOf(sc.Executor), Iterations: plannedIterations(sc.Executor)}
		err, abandoned := unlessAbandoned(abandon, func() error { return p.Prepare(ctx, need) })
		if abandoned {
			return nil, fmt.Errorf("%w during setup of scenario %s", ErrAbandoned, sc.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("runner: setup of scenario %s: %w", sc.Name, err)
		}
	}

	r := &run{opts: opts, metrics: metrics, clock: opts.Clock}
	r.start = r.clock.Now()
	r.series = newSeriesRecorder(r.start)
	states := make([]*scenarioState, len(scenarios))
	var planned time.Duration
	for i, sc := range scenarios {
		classify := sc.Classify
		if classify == nil {
			classify = ClassifyError
		}
		states[i] = &scenarioState{Scenario: sc, classify: classify, rec: newScenarioRecorder(sc.Flow.Name(), metrics), maxInFlight: concurrencyOf(sc.Executor)}
		planned = max(planned, sc.Executor.PlannedDuration())
	}

	progressCtx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	if opts.Progress != nil {
		go func() {
			defer close(progressDone)
			r.reportProgress(progressCtx, planned)
		}()
	} else {
		close(progressDone)
	}

	var wg sync.WaitGroup
	for _, st := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runScenario(ctx, st)
		}()
	}
	_, abandoned := unlessAbandoned(abandon, func() error { wg.Wait(); return nil })
	stopProgress()
	<-progressDone
	end := r.clock.Now()

	res := &loadresult.Result{
		Schema: loadresult.ResultSchema, RunID: opts.RunID, Version: opts.Version, Target: opts.Target,
		Shard: opts.Shard.String(), Start: r.start, End: end, Partial: ctx.Err() != nil,
		Unanswered: r.series.unansweredTail(),
	}
	for _, st := range states {
		elapsed := time.Duration(st.elapsed.Load())
		if abandoned {
			elapsed = end.Sub(r.start) // the scenario's goroutine may still run
		}
		sr := loadresult.ScenarioResult{
			Name: st.Name, Flow: st.Flow.Name(), Consent: st.Consent, Executor: st.Executor.Kind,
			Weight: st.Weight, TargetRate: st.Executor.TargetRate(), Workers: st.Executor.Workers,
			MaxInFlight: st.maxInFlight, PlannedSeconds: st.Executor.PlannedDuration().Seconds(),
			PlannedIterations: plannedIterations(st.Executor), ElapsedSeconds: elapsed.Seconds(),
			RunningAtScheduleEnd: st.runningAtEnd.Load(),
		}
		if st.Executor.Kind == ExecutorConstantWorkers {
			sr.MaxInFlight = 0
		}
		st.rec.fill(&sr)
		var finished int64
		for outcome, n := range sr.Flows {
			if outcome != loadresult.OutcomeInterrupted {
				finished += n
			}
		}
		if abandoned {
			// Iterations that started and have not ended were cut off.
			if running := sr.Started - sumFlows(sr.Flows); running > 0 {
				sr.Flows[loadresult.OutcomeInterrupted] += running
			}
		}
		if sr.ElapsedSeconds > 0 {
			sr.AchievedRate = float64(finished) / sr.ElapsedSeconds
		}
		res.Scenarios = append(res.Scenarios, sr)
	}
	res.Series = r.series.points(end)
	res.Thresholds = []loadresult.Verdict{}
	if opts.Progress != nil {
		opts.Progress(r.snapshot(planned, true))
	}
	if len(opts.Thresholds) > 0 {
		res.Thresholds, err = loadresult.Judge(res, opts.Thresholds)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// unlessAbandoned runs f and returns its error, or returns at once with
// abandoned set when abandon closes first (f keeps running on its own).
func unlessAbandoned(abandon <-chan struct{}, f func() error) (err error, abandoned bool) {
	if abandon == nil {
		return f(), false
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, false
	case <-abandon:
		return nil, true
	}
}

func sumFlows(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func concurrencyOf(ex Executor) int {
	if ex.Kind == ExecutorConstantWorkers {
		return ex.Workers
	}
	if ex.MaxInFlight > 0 {
		return ex.MaxInFlight
	}
	return DefaultMaxInFlight
}

func plannedIterations(ex Executor) int64 {
	switch ex.Kind {
	case ExecutorConstantArrivalRate:
		return newConstantPacer(ex.Rate, ex.Duration).plannedIterations()
	case ExecutorRampingArrivalRate:
		return newRampingPacer(ex.StartRate, ex.Stages).plannedIterations()
	}
	return ex.Iterations
}

type run struct {
	opts    Options
	metrics *Metrics
	clock   Clock
	start   time.Time
	series  *seriesRecorder
	// inFlight counts iterations running across all scenarios.
	inFlight atomic.Int64
	// lastFlows and lastAt remember the previous progress report, for its rate.
	lastFlows int64
	lastAt    time.Time
}

type scenarioState struct {
	Scenario
	classify    Classifier
	rec         *scenarioRecorder
	maxInFlight int
	// elapsed is how long the scenario took (a time.Duration): until its last
	// iteration ended, and at least its planned duration when it ran to the
	// end, or until it was interrupted. Atomic, since an abandoned run reads
	// the state while the scenario's goroutine may still write it.
	elapsed atomic.Int64
	// lastEnd is when its latest iteration ended, as an offset from the start.
	lastEnd atomic.Int64
	// inFlight counts its iterations running; runningAtEnd is what inFlight was
	// when the schedule ended.
	inFlight     atomic.Int64
	runningAtEnd atomic.Int64
}

// noteEnd records an iteration's end for the scenario's elapsed time.
func (st *scenarioState) noteEnd(offset time.Duration) {
	for {
		last := st.lastEnd.Load()
		if int64(offset) <= last || st.lastEnd.CompareAndSwap(last, int64(offset)) {
			return
		}
	}
}

// finish sets the scenario's elapsed time once its iterations are done: at
// least the planned length (a schedule that ran to its end lasted that long,
// even if its last iteration ended early), and until the last iteration ended.
func (r *run) finish(ctx context.Context, st *scenarioState, planned time.Duration) {
	if ctx.Err() != nil {
		st.elapsed.Store(int64(r.clock.Now().Sub(r.start)))
		return
	}
	st.elapsed.Store(max(int64(planned), st.lastEnd.Load()))
}

func (r *run) runScenario(ctx context.Context, st *scenarioState) {
	switch st.Executor.Kind {
	case ExecutorConstantArrivalRate:
		r.runOpen(ctx, st, newConstantPacer(st.Executor.Rate, st.Executor.Duration))
	case ExecutorRampingArrivalRate:
		r.runOpen(ctx, st, newRampingPacer(st.Executor.StartRate, st.Executor.Stages))
	case ExecutorConstantWorkers:
		r.runClosed(ctx, st)
	}
}

// runOpen is the open model: iteration i starts at its intended time whether or not
// earlier ones finished. When MaxInFlight iterations are running at that time the
// iteration is dropped and counted, never queued: queueing would hide the overload
// that an open model exists to show.
func (r *run) runOpen(ctx context.Context, st *scenarioState, p pacer) {
	limit := int64(st.maxInFlight)
	flowCtx, cancelFlows := context.WithCancel(ctx)
	defer cancelFlows()
	var running sync.WaitGroup
	var inFlight atomic.Int64 // this scenario's; only this goroutine increments it
	for i := int64(0); ; i++ {
		off, ok := p.offset(i)
		if !ok {
			break
		}
		intended := r.start.Add(off)
		if err := r.clock.SleepUntil(ctx, intended); err != nil {
			break
		}
		if inFlight.Load() >= limit {
			st.rec.drop(loadresult.DroppedMaxInFlight)
			r.series.drop(intended)
			continue
		}
		inFlight.Add(1)
		running.Add(1)
		go func() {
			defer running.Done()
			defer inFlight.Add(-1)
			r.iterate(flowCtx, st, intended, true)
		}()
	}
	// The schedule ends at its planned end, not at its last start: what still
	// runs then is reported, and outlasts the schedule by the drain.
	// What runs then is what iterate counts as running: started, its flow not
	// yet returned (the slots' count also holds iterations still recording).
	if err := r.clock.SleepUntil(ctx, r.start.Add(st.Executor.PlannedDuration())); err == nil {
		st.runningAtEnd.Store(st.inFlight.Load())
	}
	r.drain(ctx, cancelFlows, &running)
	r.finish(ctx, st, st.Executor.PlannedDuration())
}

// runClosed is the closed model: Workers loops, each starting its next iteration
// when its previous one ends, until the duration is over or the shared iteration
// budget is spent. Latency equals service time here: a closed model has no
// intended start to be late against.
func (r *run) runClosed(ctx context.Context, st *scenarioState) {
	ex := st.Executor
	flowCtx, cancelFlows := context.WithCancel(ctx)
	defer cancelFlows()
	var end time.Time
	if ex.Duration > 0 {
		end = r.start.Add(ex.Duration)
	}
	var budget atomic.Int64
	budget.Store(ex.Iterations)
	var workers sync.WaitGroup
	var atEnd sync.Once // the first worker to see the end notes who still runs
	for w := 0; w < ex.Workers; w++ {
		workers.Add(1)
		r.metrics.workers.Inc()
		go func() {
			defer workers.Done()
			defer r.metrics.workers.Dec()
			for ctx.Err() == nil {
				now := r.clock.Now()
				if !end.IsZero() && !now.Before(end) {
					atEnd.Do(func() { st.runningAtEnd.Store(st.inFlight.Load()) })
					return
				}
				if ex.Iterations > 0 && budget.Add(-1) < 0 {
					return
				}
				r.iterate(flowCtx, st, now, false)
			}
		}()
	}
	// The graceful stop for iterations still running at the duration's end is a
	// wall-clock safety limit (see drain), so it runs on a real timer.
	stopWatch, stopWatching := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if end.IsZero() {
			return
		}
		timer := time.NewTimer(ex.Duration + r.graceful())
		defer timer.Stop()
		select {
		case <-timer.C:
			cancelFlows()
		case <-stopWatch.Done():
		}
	}()
	workers.Wait()
	stopWatching()
	<-watchDone
	// A budget spent before the duration ends the scenario early: its length
	// is then until the last iteration ended.
	planned := ex.Duration
	if ex.Iterations > 0 && budget.Load() <= 0 {
		planned = 0
	}
	r.finish(ctx, st, planned)
}

func (r *run) graceful() time.Duration {
	if r.opts.GracefulStop < 0 {
		return 0
	}
	return r.opts.GracefulStop
}

// drain waits for running iterations, cancelling them once the graceful stop is
// over. The graceful stop is a wall-clock safety limit, not part of the schedule,
// so it runs on a real timer even when the schedule runs on an injected clock.
func (r *run) drain(ctx context.Context, cancelFlows context.CancelFunc, running *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		running.Wait()
		close(done)
	}()
	timer := time.NewTimer(r.graceful())
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	case <-ctx.Done():
	}
	cancelFlows()
	<-done
}

// iterate runs one iteration and records it. A panicking flow is a bug in the
// flow, but it must not take the whole run down: it is counted as an error.
func (r *run) iterate(ctx context.Context, st *scenarioState, intended time.Time, open bool) {
	st.rec.start()
	r.inFlight.Add(1)
	st.inFlight.Add(1)
	r.metrics.inFlight.Inc()
	started := r.clock.Now()
	steps, err := runFlow(ctx, st.Flow)
	ended := r.clock.Now()
	st.inFlight.Add(-1)
	r.inFlight.Add(-1)
	r.metrics.inFlight.Dec() // last: whoever sees the gauge drop sees the counts dropped
	st.noteEnd(ended.Sub(r.start))
	outcome := loadresult.OutcomeOK
	if err != nil {
		outcome = st.classify(ctx, err)
		if len(steps) > 0 {
			outcome = reconcile(outcome, steps[len(steps)-1])
		}
	}
	st.rec.record(iteration{intended: intended, started: started, ended: ended, open: open, steps: steps, outcome: outcome})
	latency := ended.Sub(started)
	if open {
		latency = ended.Sub(intended)
	}
	r.series.record(ended, latency, len(steps), outcome)
}

// reconcile corrects an outcome by what the failing step recorded: once a response
// has arrived, its status and error code say more than the error that ended the
// parse. A 503 with an HTML body is an HTTP error, not a JSON problem; a body cut
// short (unexpected EOF) after a 200 is a bad response, not a reset connection.
func reconcile(outcome string, last trace.Step) string {
	if last.Status == 0 {
		return outcome
	}
	switch outcome {
	case loadresult.OutcomeError, loadresult.OutcomeBadResponse, loadresult.OutcomeReset, loadresult.OutcomeTransport:
		switch {
		case last.OAuthError != "":
			return loadresult.OutcomeOAuthError
		case last.Status >= 400:
			return loadresult.OutcomeHTTPError
		}
		return loadresult.OutcomeBadResponse
	}
	return outcome
}

// PanicError is the error of an iteration whose flow panicked.
type PanicError struct {
	Flow  string
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("runner: flow %s panicked: %v", e.Flow, e.Value)
}

func runFlow(ctx context.Context, f Flow) (steps []trace.Step, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Flow: f.Name(), Value: v}
		}
	}()
	return f.Run(ctx)
}

func (r *run) snapshot(planned time.Duration, final bool) Progress {
	flows, errs, dropped, p50, p99 := r.series.progress()
	now := r.clock.Now()
	p := Progress{
		Elapsed: now.Sub(r.start), Planned: planned, Flows: flows, Errors: errs, Dropped: dropped,
		InFlight: r.inFlight.Load(), P50: p50, P99: p99, Final: final,
	}
	since := r.lastAt
	if since.IsZero() {
		since = r.start
	}
	if final {
		since = r.start
		r.lastFlows = 0
	}
	if d := now.Sub(since).Seconds(); d > 0 {
		p.Rate = float64(flows-r.lastFlows) / d
	}
	r.lastFlows, r.lastAt = flows, now
	return p
}

func (r *run) reportProgress(ctx context.Context, planned time.Duration) {
	next := r.start
	for {
		next = next.Add(r.opts.ProgressInterval)
		if err := r.clock.SleepUntil(ctx, next); err != nil {
			return
		}
		r.opts.Progress(r.snapshot(planned, false))
	}
}
