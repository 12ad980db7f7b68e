package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/runner/grants"
)

func init() {
	register("load", "replay flows concurrently against a target; Prometheus metrics, thresholds", runLoad)
}

// loadOptions are the flags of `grantbench load`.
type loadOptions struct {
	target, scenario, flow string
	rate, startRate        float64
	duration               time.Duration
	workers                int
	iterations             int64
	maxInFlight            int
	stages                 string
	thresholds             repeatedFlag
	metricsAddr            string
	linger                 time.Duration
	remoteWrite            string
	remoteWriteInterval    time.Duration
	remoteWriteProtocol    string
	out                    string
	consent                string
	shard                  string
	grace                  time.Duration
	runID                  string
	progress               string
	tabs                   int
	cpuProfile             string
	browserURL             string
}

// repeatedFlag is a string flag given any number of times (--threshold).
type repeatedFlag []string

func (l *repeatedFlag) String() string     { return strings.Join(*l, ", ") }
func (l *repeatedFlag) Set(s string) error { *l = append(*l, s); return nil }

// executorFlags are the flag-form executor settings; none may be combined with
// --scenario but --duration, which scales the file's durations (--consent may
// too: it is the default for scenarios that set none).
var executorFlags = []string{"rate", "start-rate", "duration", "workers", "iterations", "max-in-flight", "stages"}

// loadGCPercent is the GOGC a load run uses unless the environment sets one.
const loadGCPercent = 400

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	run, err := parseLoad(args, stderr)
	if run == nil {
		return err // bad usage, or --help
	}
	defer run.closeMetrics()
	if run.outDir, err = prepareOutDir("load", "--out", run.out); err != nil {
		return err // before the run: a result nobody can save is not worth running
	}
	// Everything load prints but the progress line (counts only, rewritten in
	// place on a terminal) goes through the redactor: the target tells it the
	// profile's secrets and each password field the form driver fills.
	run.redactor, run.progressOut = redact.New(), stderr
	console := run.redactor.Writer(stderr)
	defer console.Flush()
	stderr = console
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, abandon, stopWatching := watchStopSignals(ctx, sigs, stderr)
	defer stopWatching()
	res, err := run.execute(ctx, abandon, stderr)
	if err != nil {
		return redactedError(run.redactor, err)
	}
	return redactedError(run.redactor, run.report(ctx, res, stdout, stderr))
}

// redactedError returns err with its message redacted by r (main prints it);
// errors.As still finds the exit code under it.
func redactedError(r *redact.Redactor, err error) error {
	if err == nil {
		return nil
	}
	return &redactedErr{err: err, redactor: r}
}

type redactedErr struct {
	err      error
	redactor *redact.Redactor
}

func (e *redactedErr) Error() string { return e.redactor.String(e.err.Error()) }
func (e *redactedErr) Unwrap() error { return e.err }

// useTargetSecrets makes r hide the target's secrets, and the password fields
// its form driver fills, in what a command prints.
func useTargetSecrets(r *redact.Redactor, target *flows.Target) {
	r.Add(target.Secrets()...)
	target.RegisterSecretsWith(r)
}

// watchStopSignals turns signals into the two ways a run stops. The first
// Ctrl-C (SIGINT) cancels the returned context: no new iterations, those in
// flight are interrupted, the partial result is written. A second Ctrl-C, or
// SIGTERM at any time (what a container runtime or CI sends before SIGKILL),
// also closes abandon: the run stops waiting for anything that ignores its
// context and writes what it has at once. stop ends the watching.
func watchStopSignals(parent context.Context, sigs <-chan os.Signal, stderr io.Writer) (ctx context.Context, abandon <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	abandoned := make(chan struct{})
	done := make(chan struct{})
	go func() {
		interrupts := 0
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				if sig == os.Interrupt {
					interrupts++
				}
				if sig == os.Interrupt && interrupts == 1 {
					fmt.Fprintln(stderr, "load: interrupted: stopping the run and writing the partial result (Ctrl-C again to stop at once)")
					cancel()
					continue
				}
				fmt.Fprintf(stderr, "load: %s: stopping at once and writing the partial result\n", sig)
				cancel()
				close(abandoned)
				return
			}
		}
	}()
	return ctx, abandoned, func() { close(done); cancel() }
}

// loadRun is a load run as the flags describe it, checked before anything starts.
type loadRun struct {
	loadOptions
	plan        *runner.Plan
	thresholds  []loadresult.Threshold
	shard       runner.Shard
	targetLabel string
	metrics     *runner.MetricsServer // nil without --metrics-addr
	outDir      *outputDir            // --out, checked before the run
	// redactor hides secrets in what the command prints; progressOut is the
	// unredacted stderr, for the progress line alone.
	redactor    *redact.Redactor
	progressOut io.Writer
}

// parseLoad turns the command line into a loadRun; nil with a nil error is --help.
func parseLoad(args []string, stderr io.Writer) (*loadRun, error) {
	var o loadOptions
	fs := flag.NewFlagSet("grantbench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setHelp(fs, helpText{
		usage: "grantbench load [--target FILE] (--scenario FILE [--duration DURATION] | --flow NAME (--rate N | --stages STAGES | --workers N) [--duration DURATION] [--iterations N] [--max-in-flight N]) " +
			"[--threshold EXPR ...] [--metrics-addr HOST:PORT [--linger DURATION]] [--remote-write URL] [--out DIR] [--consent http|browser [--tabs N] [--browser-url ADDRESS]] [--shard I/N]",
		purpose: "Replays OAuth flows concurrently against a target (without --target, the bundled mock provider started in this process), " +
			"open model (a rate of iterations per second) or closed model (workers), serves Prometheus /metrics or pushes them with Remote-Write while it runs, " +
			"judges the thresholds on exact HdrHistogram percentiles at the end, and writes DIR/load.json (grantbench report renders it). " +
			"Unless a threshold bounds the error rate, the run gets " + loadresult.DefaultErrorRate + ".",
		exits: "0 every threshold passed; 1 a threshold was breached or the run was interrupted (Ctrl-C stops in order, a second Ctrl-C or SIGTERM at once; " +
			"the partial result is written either way); 2 bad usage or configuration (the message names the flag or field); 3 the target could not be reached or stopped answering for good",
		example: "grantbench load --flow client_credentials --rate 50 --duration 30s --threshold 'token:p99<500ms'\ngrantbench load --scenario deploy/scenario.yaml --duration 1m --out out",
	})
	fs.StringVar(&o.target, "target", "", "target profile YAML `file` (default: start the bundled mock provider in-process on 127.0.0.1)")
	fs.StringVar(&o.scenario, "scenario", "", "scenario plan YAML `file` (several weighted scenarios, executors, thresholds)")
	fs.StringVar(&o.flow, "flow", "", "replay the flow `name`: "+strings.Join(grants.Table.FlowNames(), ", "))
	fs.Float64Var(&o.rate, "rate", 0, "open model: `N` iterations started per second (constant-arrival-rate)")
	fs.StringVar(&o.stages, "stages", "", "open model with a moving rate (ramping-arrival-rate): `stages` as duration:rate,..., e.g. 30s:100,2m:100")
	fs.Float64Var(&o.startRate, "start-rate", 0, "the rate `N` at the start of the first of --stages")
	fs.DurationVar(&o.duration, "duration", 0, "how long (a `duration`: 30s, 10m) to keep the rate, or the workers busy; with --scenario, the length of the file's longest scenario (the others and every stage scaled alike)")
	fs.IntVar(&o.workers, "workers", 0, "closed model: `N` concurrent workers, each starting its next iteration when the last ends (constant-workers)")
	fs.Int64Var(&o.iterations, "iterations", 0, "closed model: `N` iterations in all (with or instead of --duration)")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 0, fmt.Sprintf("open model: at most `N` iterations running at once; later ones are dropped and counted (default %d)", runner.DefaultMaxInFlight))
	fs.StringVar(&o.browserURL, "browser-url", "", browserURLUsage)
	fs.IntVar(&o.tabs, "tabs", 4, "browser consent: at most `N` Chromium tabs open at once (the bounded pool browser-driven iterations share)")
	fs.StringVar(&o.consent, "consent", "", "authorization_code login and consent `mode`: http (form posts, bundled mock) or browser (headless Chromium); default http for targets that allow it")
	fs.Var(&o.thresholds, "threshold", "pass/fail `expression`, repeatable: token:p99<250ms, error_rate<0.1%, rate>=0.98*target; without an error_rate one, "+loadresult.DefaultErrorRate+" applies")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this `host:port` during the run")
	fs.DurationVar(&o.linger, "linger", 0, "keep serving /metrics this `duration` after the run, so the last scrape sees the final values")
	fs.StringVar(&o.remoteWrite, "remote-write", "", "push metrics to this Prometheus Remote-Write `URL` during the run (e.g. http://prometheus:9090/api/v1/write)")
	fs.StringVar(&o.remoteWriteProtocol, "remote-write-protocol", runner.RemoteWriteV1, "Remote-Write `version`: v1 (any receiver; classic histograms) or v2 (Remote-Write 2.0, e.g. Prometheus 3; native histograms too)")
	fs.DurationVar(&o.remoteWriteInterval, "remote-write-interval", runner.DefaultRemoteWriteInterval, "push with --remote-write every `duration`")
	fs.StringVar(&o.out, "out", "out", "write the result to `DIR`/load.json")
	fs.StringVar(&o.shard, "shard", "", "run shard `i/n` of a distributed run: 1/n of the rate, workers and iterations")
	fs.DurationVar(&o.grace, "grace", runner.DefaultGracefulStop, "how long (a `duration`) iterations still running at the end may finish before they are cancelled")
	fs.StringVar(&o.runID, "run-id", "", "the run's `id` in results and metrics (default: time and random suffix)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the timed phase to `file` (for tuning the runner)")
	fs.StringVar(&o.progress, "progress", "auto", "progress display `mode`: auto (a live line on a terminal, else a line every 10s), plain, or off")
	if help, err := parseFlags(fs, args, "load"); help || err != nil {
		return nil, err
	}
	if err := checkBrowserURL(o.browserURL); err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	if _, err := grants.ParseConsent(o.consent); err != nil {
		return nil, usageErrorf("load: --consent: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	r := &loadRun{loadOptions: o, shard: runner.Shard{Index: 1, Count: 1}}
	var err error
	if r.plan, err = o.buildPlan(set); err != nil {
		return nil, err
	}
	if err := capPlanDurations(r.plan, stderr); err != nil {
		return nil, err
	}
	r.thresholds, err = loadresult.ParseThresholds(append(append([]string(nil), r.plan.Thresholds...), o.thresholds...))
	if err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	r.thresholds = loadresult.WithDefaults(r.thresholds)
	var flowNames, scenarioNames []string
	for _, s := range r.plan.Scenarios {
		flowNames, scenarioNames = append(flowNames, s.Flow), append(scenarioNames, s.Name)
	}
	for _, th := range r.thresholds {
		if err := th.CheckScope(flowNames, scenarioNames); err != nil {
			return nil, usageErrorf("load: %v", err)
		}
		if err := checkRateTarget(th, r.plan); err != nil {
			return nil, usageErrorf("load: %v", err)
		}
	}
	if o.shard != "" {
		if r.shard, err = runner.ParseShard(o.shard); err != nil {
			return nil, usageErrorf("load: %v", err)
		}
	}
	switch o.progress {
	case "auto", "plain", "off":
	default:
		return nil, usageErrorf("load: --progress %q: want auto, plain or off", o.progress)
	}
	if err := o.checkBounds(); err != nil {
		return nil, err
	}
	if o.linger > 0 && o.metricsAddr == "" {
		return nil, usageErrorf("load: --linger keeps /metrics up after the run; it needs --metrics-addr")
	}
	if r.runID == "" {
		r.runID = newRunID()
	}
	return r, nil
}

// execute starts the target (a profile, or the bundled mock in this process),
// binds the plan to its grants and runs it with the metrics it serves or pushes.
func (r *loadRun) execute(ctx context.Context, abandon <-chan struct{}, stderr io.Writer) (*loadresult.Result, error) {
	var target *flows.Target
	if r.target != "" {
		var err error
		if target, err = flows.LoadTarget(r.target); err != nil {
			return nil, usageErrorf("load: --target: %v", err)
		}
	} else {
		srv, err := mockprovider.StartBundled(ctx, mockprovider.LocalOptions{})
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		defer srv.Close()
		target = flows.MockTarget(srv.Issuer(), "")
		fmt.Fprintf(stderr, "load: bundled mock provider at %s\n", srv.Issuer())
	}
	useTargetSecrets(r.redactor, target)
	r.targetLabel = target.Issuer
	defer target.CloseIdleConnections()
	if err := target.Discover(ctx); err != nil {
		var profile *flows.ProfileError
		switch {
		case unreachable(err):
			return nil, unreachableErrorf("load: target %s: %v", target.Issuer, err)
		case errors.As(err, &profile):
			return nil, usageErrorf("load: --target: %v", err)
		}
		// The target answered discovery, with nothing a flow can use.
		return nil, failedErrorf("load: target %s: %v", target.Issuer, err)
	}

	bound, err := grants.Bind(ctx, r.plan, grants.BindOptions{
		Target: target, Consent: r.consent, Shard: r.shard,
		Browser: flows.BrowserOptions{MaxTabs: r.tabs, OutDir: filepath.Join(r.out, "screenshots"), RemoteURL: r.browserURL},
		Skipped: func(name string) {
			fmt.Fprintf(stderr, "load: shard %s has no share of scenario %s; skipping it\n", r.shard, name)
		},
	})
	var setupErr *grants.SetupError
	switch {
	case errors.As(err, &setupErr):
		return nil, fmt.Errorf("load: %w", err)
	case err != nil:
		return nil, usageErrorf("load: %v", err)
	}
	defer bound.Close()

	opts, stopTelemetry, err := r.runnerOptions(ctx, stderr)
	if err != nil {
		return nil, err
	}
	opts.Abandon = abandon
	defer stopTelemetry()
	if r.cpuProfile != "" {
		f, err := os.Create(r.cpuProfile)
		if err != nil {
			return nil, usageErrorf("load: --cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("load: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// A load run's live heap is a few megabytes (histograms, connections) while
	// it allocates several KB per request, mostly in net/http: at Go's default
	// GOGC=100 the collector runs dozens of times a second and took about 5% of
	// the client's CPU. A load generator should spend memory rather than CPU
	// here (a 1,000,000-flow run peaks near 45 MB with this); GOGC set in the
	// environment wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	}
	fmt.Fprintf(stderr, "load: run %s: setup, then %s\n", r.runID, describePlan(bound.Scenarios))
	res, err := runner.Run(ctx, bound.Scenarios, opts)
	if err != nil && res == nil {
		if errors.Is(err, runner.ErrAbandoned) || ctx.Err() != nil {
			return nil, failedErrorf("load: interrupted during setup: %v", err)
		}
		if unreachable(err) {
			return nil, unreachableErrorf("load: %v", err)
		}
		return nil, failedErrorf("load: %v", err)
	}
	if err != nil {
		return nil, failedErrorf("load: %v", err)
	}
	stopTelemetry() // final push before the summary
	return res, nil
}

// runnerOptions are the runner's options for this run, with /metrics served
// and Remote-Write pushing as the flags ask; stop ends the pushing (after one
// last push) and the serving, and may be called more than once.
func (r *loadRun) runnerOptions(ctx context.Context, stderr io.Writer) (opts runner.Options, stop func(), err error) {
	reg := prometheus.NewRegistry()
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	if r.metricsAddr != "" {
		srv, err := runner.ServeMetrics(r.metricsAddr, reg)
		if err != nil {
			return opts, nil, usageErrorf("load: %v", err)
		}
		// /metrics stays up for --linger after the run: runLoad closes it.
		r.metrics = srv
		fmt.Fprintf(stderr, "load: metrics at http://%s/metrics\n", srv.Addr())
	}
	if r.remoteWrite != "" {
		host, _ := os.Hostname()
		instance := strings.TrimSuffix(host+"/"+r.shard.String(), "/")
		w, err := runner.NewRemoteWriter(r.remoteWrite, reg, runner.RemoteWriteOptions{Job: "grantbench", Instance: instance,
			Interval: r.remoteWriteInterval, Protocol: r.remoteWriteProtocol})
		if err != nil {
			return opts, nil, usageErrorf("load: %v", err)
		}
		pushCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.Run(pushCtx, func(err error) { fmt.Fprintf(stderr, "load: %v\n", err) })
		}()
		stops = append(stops, func() { cancel(); <-done })
	}
	opts = runner.Options{
		RunID: r.runID, Version: version, Target: r.targetLabel, Shard: r.shard, Registerer: reg,
		GracefulStop: r.grace, Thresholds: r.thresholds,
	}
	if r.grace == 0 {
		opts.GracefulStop = -1 // cancel at once
	}
	if r.progress != "off" {
		progress := stderr
		if r.progressOut != nil {
			progress = r.progressOut
		}
		opts.Progress = runner.NewProgressPrinter(progress, r.progress == "auto" && isTerminal(progress), 10*time.Second)
	}
	return opts, stop, nil
}

func (r *loadRun) closeMetrics() {
	if r.metrics != nil {
		_ = r.metrics.Close()
	}
}

// report writes the result and its summary, keeps /metrics up for --linger,
// and returns the run's verdict.
func (r *loadRun) report(ctx context.Context, res *loadresult.Result, stdout, stderr io.Writer) error {
	var path string
	if werr := r.outDir.write(func(dir string) error {
		path = filepath.Join(dir, "load.json")
		return res.WriteFile(path)
	}); werr != nil {
		return werr
	}
	r.outDir.notice(stderr)
	printSummary(stdout, res, path)

	if r.linger > 0 && ctx.Err() == nil {
		fmt.Fprintf(stderr, "load: serving final metrics for %s (Ctrl-C to stop)\n", r.linger)
		select {
		case <-ctx.Done():
		case <-time.After(r.linger):
		}
	}
	if res.Partial {
		return failedErrorf("load: interrupted after %s; partial result in %s", res.End.Sub(res.Start).Round(time.Millisecond), path)
	}
	// A target that stopped answering is exit 3 even though thresholds broke
	// too: the run measured the outage, not the target.
	if allTransportFailures(res) {
		return unreachableErrorf("load: no iteration got a response from %s (see %s)", r.targetLabel, path)
	}
	if tail, stopped := res.StoppedAnswering(); stopped {
		return unreachableErrorf("load: %s stopped answering %s into the run: the last %d iterations got no response (%s); see %s",
			r.targetLabel, tail.Since.Sub(res.Start).Round(time.Millisecond), tail.Iterations, describeCounts(tail.Outcomes), path)
	}
	if failed := res.Failed(); len(failed) > 0 {
		var parts []string
		for _, v := range failed {
			parts = append(parts, fmt.Sprintf("%q measured %s", v.Threshold, v.Display))
		}
		return failedErrorf("load: threshold breached: %s", strings.Join(parts, "; "))
	}
	return r.outDir.problem()
}

// describeCounts writes counts by outcome: "connection_refused 3006, timeout 2".
func describeCounts(counts map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// Bounds of the flags that are not part of a plan (runner.Executor.Validate
// bounds those): each is far past any sensible value, and refusing it names the
// flag instead of misbehaving later.
const (
	maxGrace        = time.Hour
	maxLinger       = time.Hour
	minPushInterval = 100 * time.Millisecond
	maxPushInterval = time.Hour
	maxTabs         = 256
)

// checkBounds refuses out-of-range values of the flags outside the plan.
func (o *loadOptions) checkBounds() error {
	switch {
	case o.grace < 0 || o.grace > maxGrace:
		return usageErrorf("load: --grace: must be between 0 and %s, got %s", maxGrace, o.grace)
	case o.linger < 0 || o.linger > maxLinger:
		return usageErrorf("load: --linger: must be between 0 and %s, got %s", maxLinger, o.linger)
	case o.remoteWriteInterval < minPushInterval || o.remoteWriteInterval > maxPushInterval:
		return usageErrorf("load: --remote-write-interval: must be between %s and %s, got %s", minPushInterval, maxPushInterval, o.remoteWriteInterval)
	case o.tabs < 1 || o.tabs > maxTabs:
		return usageErrorf("load: --tabs: must be between 1 and %d, got %d", maxTabs, o.tabs)
	}
	return nil
}

// buildPlan builds the run's plan from --scenario or from the flag form.
func (o *loadOptions) buildPlan(set map[string]bool) (*runner.Plan, error) {
	switch {
	case o.scenario != "" && o.flow != "":
		return nil, usageErrorf("load: give --scenario or --flow, not both")
	case o.scenario != "":
		for _, f := range executorFlags {
			if set[f] && f != "duration" {
				return nil, usageErrorf("load: --%s belongs to the --flow form; with --scenario, set it in the file", f)
			}
		}
		plan, err := runner.LoadPlan(o.scenario, grants.Table)
		if err != nil {
			return nil, usageErrorf("load: --scenario %v", err)
		}
		if set["duration"] {
			if err := plan.ScaleDuration(o.duration); err != nil {
				return nil, usageErrorf("load: %v", err)
			}
		}
		return plan, nil
	case o.flow == "":
		return nil, usageErrorf("load: give --flow NAME (with --rate/--stages or --workers, and --duration or --iterations) or --scenario FILE")
	}
	ex := runner.Executor{Rate: o.rate, StartRate: o.startRate, Duration: o.duration, Workers: o.workers,
		Iterations: o.iterations, MaxInFlight: o.maxInFlight}
	switch {
	case set["stages"]:
		stages, err := runner.ParseStages(o.stages)
		if err != nil {
			return nil, usageErrorf("load: %v", err)
		}
		ex.Kind, ex.Stages = runner.ExecutorRampingArrivalRate, stages
	case set["rate"]:
		ex.Kind = runner.ExecutorConstantArrivalRate
	case set["workers"] || set["iterations"]:
		ex.Kind = runner.ExecutorConstantWorkers
		if !set["workers"] {
			ex.Workers = 1 // --iterations alone: one worker
		}
	default:
		return nil, usageErrorf("load: --flow %s needs --rate (open model), --stages (ramping) or --workers (closed model)", o.flow)
	}
	if err := ex.ValidateFlags(); err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	if _, ok := grants.Table.Lookup(o.flow); !ok {
		return nil, usageErrorf("load: --flow %q: one of %s", o.flow, strings.Join(grants.Table.FlowNames(), ", "))
	}
	spec := runner.ScenarioSpec{Name: o.flow, Flow: o.flow, Weight: 1, Executor: ex}
	return &runner.Plan{Scenarios: []runner.ScenarioSpec{spec}}, nil
}

// checkRateTarget refuses a rate-relative threshold over closed-model scenarios
// before the run rather than after it.
func checkRateTarget(th loadresult.Threshold, plan *runner.Plan) error {
	if th.Metric != "rate" || !strings.Contains(th.Expr, "target") {
		return nil
	}
	for _, s := range plan.Scenarios {
		inScope := th.Scope == "" || th.Scope == s.Flow || th.Scope == s.Name
		if inScope && s.Executor.Kind == runner.ExecutorConstantWorkers {
			return fmt.Errorf("threshold %q: scenario %s is closed-model (constant-workers) and has no target rate", th.Expr, s.Name)
		}
	}
	return nil
}

func describePlan(scenarios []runner.Scenario) string {
	var parts []string
	for _, s := range scenarios {
		ex := s.Executor
		var d string
		switch ex.Kind {
		case runner.ExecutorConstantArrivalRate:
			d = fmt.Sprintf("%.4g/s for %s", ex.Rate, ex.Duration)
		case runner.ExecutorRampingArrivalRate:
			d = fmt.Sprintf("%d stages over %s", len(ex.Stages), ex.PlannedDuration())
		default:
			d = fmt.Sprintf("%d workers", ex.Workers)
			if ex.Duration > 0 {
				d += " for " + ex.Duration.String()
			}
			if ex.Iterations > 0 {
				d += fmt.Sprintf(", %d iterations", ex.Iterations)
			}
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", s.Name, ex.Kind, d))
	}
	return strings.Join(parts, "; ")
}

func newRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// unreachable reports whether a setup error means no response came from the target.
func unreachable(err error) bool {
	var te *flows.TransportError
	return errors.As(err, &te)
}

// allTransportFailures is true when iterations ran and none got any response.
func allTransportFailures(res *loadresult.Result) bool {
	var total int64
	for _, sc := range res.Scenarios {
		for outcome, n := range sc.Flows {
			switch {
			case loadresult.NoResponse(outcome):
				total += n
			case outcome == loadresult.OutcomeInterrupted:
			default:
				return false
			}
		}
	}
	return total > 0
}

// printSummary writes the human summary of a run.
func printSummary(w io.Writer, res *loadresult.Result, path string) {
	dur := res.End.Sub(res.Start).Round(time.Millisecond)
	partial := ""
	if res.Partial {
		partial = " (interrupted: partial result)"
	}
	fmt.Fprintf(w, "grantbench load: run %s against %s, %s%s\n", res.RunID, res.Target, dur, partial)
	for _, sc := range res.Scenarios {
		consent := ""
		if sc.Consent != "" {
			consent = ", consent " + sc.Consent
		}
		fmt.Fprintf(w, "\nscenario %s: %s, %s%s\n", sc.Name, sc.Flow, sc.Executor, consent)
		ok := sc.Flows[loadresult.OutcomeOK]
		var failed int64
		var failures []string
		for _, outcome := range sortedKeys(sc.Flows) {
			if outcome == loadresult.OutcomeOK || outcome == loadresult.OutcomeInterrupted {
				continue
			}
			failed += sc.Flows[outcome]
			failures = append(failures, fmt.Sprintf("%s %d", outcome, sc.Flows[outcome]))
		}
		target := ""
		if sc.TargetRate > 0 {
			target = fmt.Sprintf(" (target %.2f/s)", sc.TargetRate)
		}
		var dropped int64
		for _, n := range sc.Dropped {
			dropped += n
		}
		fmt.Fprintf(w, "  flows     %d ok, %d failed, %d interrupted, %d dropped; %.2f/s over %s%s\n",
			ok, failed, sc.Flows[loadresult.OutcomeInterrupted], dropped, sc.AchievedRate,
			time.Duration(sc.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond), target)
		if sc.RunningAtScheduleEnd > 0 {
			fmt.Fprintf(w, "  tail      %d iterations were still running or queued when the %s schedule ended\n",
				sc.RunningAtScheduleEnd, time.Duration(sc.PlannedSeconds*float64(time.Second)))
		}
		if len(failures) > 0 {
			fmt.Fprintf(w, "  failures  %s\n", strings.Join(failures, ", "))
		}
		fmt.Fprintf(w, "  latency   %s  (successful flows, from intended start)\n", percentiles(sc.Latency))
		fmt.Fprintf(w, "  service   %s\n", percentiles(sc.ServiceTime))
		if sc.FailedLatency.Count > 0 {
			fmt.Fprintf(w, "  failed    %s\n", percentiles(sc.FailedLatency))
		}
		for _, st := range sc.Steps {
			var total int64
			var detail []string
			for _, c := range st.Requests {
				total += c.Count
				if c.Outcome != loadresult.OutcomeOK {
					label := c.Outcome + " " + c.StatusClass
					if c.OAuthError != "" {
						label += " " + c.OAuthError
					}
					detail = append(detail, fmt.Sprintf("%s: %d", label, c.Count))
				}
			}
			fmt.Fprintf(w, "  step %-14s %d requests; %s\n", st.Name, total, percentiles(st.Latency))
			if len(detail) > 0 {
				fmt.Fprintf(w, "       %-14s %s\n", "", strings.Join(detail, ", "))
			}
		}
	}
	if len(res.Thresholds) > 0 {
		fmt.Fprintln(w, "\nthresholds")
		for _, v := range res.Thresholds {
			verdict := "PASS"
			if !v.Passed {
				verdict = "FAIL"
			}
			note := ""
			if v.Default {
				note = "  (default; any --threshold error_rate... replaces it)"
			}
			fmt.Fprintf(w, "  %s  %-28s measured %s%s\n", verdict, v.Threshold, v.Display, note)
		}
	}
	if tail := res.Unanswered; tail != nil && tail.Iterations > 0 {
		fmt.Fprintf(w, "\nno response from the target for the last %d iterations, from %s into the run (%s)\n",
			tail.Iterations, tail.Since.Sub(res.Start).Round(time.Millisecond), describeCounts(tail.Outcomes))
	}
	fmt.Fprintf(w, "\nresult: %s\n", path)
}

func percentiles(h loadresult.Histogram) string {
	if h.Count == 0 {
		return "no samples"
	}
	f := loadresult.FormatSeconds
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", f(h.P50Seconds), f(h.P90Seconds), f(h.P99Seconds), f(h.P999Seconds), f(h.MaxSeconds))
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
