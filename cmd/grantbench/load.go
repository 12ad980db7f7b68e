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
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
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
// --scenario. (--consent may: it is the default for scenarios that set none.)
var executorFlags = []string{"rate", "start-rate", "duration", "workers", "iterations", "max-in-flight", "stages"}

// loadGCPercent is the GOGC a load run uses unless the environment sets one.
const loadGCPercent = 400

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o loadOptions
	fs := flag.NewFlagSet("grantbench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: grantbench load [--target FILE] (--scenario FILE | --flow NAME (--rate R | --stages S | --workers N)
                       [--duration D] [--iterations N] [--max-in-flight N]) [--threshold EXPR ...]
                       [--metrics-addr ADDR [--linger D]] [--remote-write URL] [--out DIR]
                       [--consent http|browser [--tabs N] [--browser-url ADDR]] [--shard i/n]

Replays OAuth flows concurrently against a target (without --target, the bundled
mock provider started in this process) and writes DIR/load.json. Exit status: 0 all
thresholds passed, 1 a threshold was breached or the run was interrupted, 2 bad
usage, 3 the target could not be reached.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.target, "target", "", "target profile YAML `file` (default: start the bundled mock provider in-process on 127.0.0.1)")
	fs.StringVar(&o.scenario, "scenario", "", "scenario plan YAML `file` (several weighted scenarios, executors, thresholds)")
	fs.StringVar(&o.flow, "flow", "", "replay one flow: "+strings.Join(runner.FlowNames(), ", "))
	fs.Float64Var(&o.rate, "rate", 0, "open model: iterations started per second (constant-arrival-rate)")
	fs.StringVar(&o.stages, "stages", "", "open model with a moving rate (ramping-arrival-rate): `duration:rate,...`, e.g. 30s:100,2m:100")
	fs.Float64Var(&o.startRate, "start-rate", 0, "rate at the start of the first of --stages")
	fs.DurationVar(&o.duration, "duration", 0, "how long to keep the rate, or the workers busy")
	fs.IntVar(&o.workers, "workers", 0, "closed model: concurrent workers, each starting its next iteration when the last ends (constant-workers)")
	fs.Int64Var(&o.iterations, "iterations", 0, "closed model: total iterations to run (with or instead of --duration)")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 0, fmt.Sprintf("open model: most iterations running at once; later ones are dropped and counted (default %d)", runner.DefaultMaxInFlight))
	fs.StringVar(&o.browserURL, "browser-url", "", browserURLUsage)
	fs.IntVar(&o.tabs, "tabs", 4, "browser consent: most Chromium tabs open at once (the bounded pool browser-driven iterations share)")
	fs.StringVar(&o.consent, "consent", "", "authorization_code login and consent: http (form posts, bundled mock) or browser (headless Chromium); default http for targets that allow it")
	fs.Var(&o.thresholds, "threshold", "pass/fail `expression`, repeatable: token:p99<250ms, error_rate<0.1%, rate>=0.98*target")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this `host:port` during the run")
	fs.DurationVar(&o.linger, "linger", 0, "keep serving /metrics this long after the run, so the last scrape sees the final values")
	fs.StringVar(&o.remoteWrite, "remote-write", "", "push metrics to this Prometheus Remote-Write `URL` during the run (e.g. http://prometheus:9090/api/v1/write)")
	fs.StringVar(&o.remoteWriteProtocol, "remote-write-protocol", runner.RemoteWriteV1, "v1 (any receiver; classic histograms) or v2 (Remote-Write 2.0, e.g. Prometheus 3; native histograms too)")
	fs.DurationVar(&o.remoteWriteInterval, "remote-write-interval", runner.DefaultRemoteWriteInterval, "how often to push with --remote-write")
	fs.StringVar(&o.out, "out", "out", "write the result to `DIR`/load.json")
	fs.StringVar(&o.shard, "shard", "", "run shard `i/n` of a distributed run: 1/n of the rate, workers and iterations")
	fs.DurationVar(&o.grace, "grace", runner.DefaultGracefulStop, "how long iterations still running at the end may finish before they are cancelled")
	fs.StringVar(&o.runID, "run-id", "", "identify the run in results and metrics (default: time and random suffix)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the timed phase to `file` (for tuning the runner)")
	fs.StringVar(&o.progress, "progress", "auto", "progress display: auto (a live line on a terminal, else a line every 10s), plain, or off")
	if help, err := parseFlags(fs, args, "load"); help || err != nil {
		return err
	}
	if err := checkBrowserURL(o.browserURL); err != nil {
		return usageErrorf("load: %v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	plan, err := o.plan(set)
	if err != nil {
		return err
	}
	thresholds, err := runner.ParseThresholds(append(append([]string(nil), plan.Thresholds...), o.thresholds...))
	if err != nil {
		return usageErrorf("load: %v", err)
	}
	var flowNames, scenarioNames []string
	for _, s := range plan.Scenarios {
		flowNames, scenarioNames = append(flowNames, s.Flow), append(scenarioNames, s.Name)
	}
	for _, th := range thresholds {
		if err := th.CheckScope(flowNames, scenarioNames); err != nil {
			return usageErrorf("load: %v", err)
		}
		if err := checkRateTarget(th, plan); err != nil {
			return usageErrorf("load: %v", err)
		}
	}
	shard := runner.Shard{Index: 1, Count: 1}
	if o.shard != "" {
		if shard, err = runner.ParseShard(o.shard); err != nil {
			return usageErrorf("load: %v", err)
		}
	}
	switch o.progress {
	case "auto", "plain", "off":
	default:
		return usageErrorf("load: --progress %q: want auto, plain or off", o.progress)
	}
	if o.linger < 0 || o.grace < 0 || o.remoteWriteInterval <= 0 {
		return usageErrorf("load: --linger and --grace must not be negative, --remote-write-interval must be positive")
	}
	if o.linger > 0 && o.metricsAddr == "" {
		return usageErrorf("load: --linger keeps /metrics up after the run; it needs --metrics-addr")
	}
	if o.runID == "" {
		o.runID = newRunID()
	}

	// The target: a profile, or the bundled mock in this process.
	var target *flows.Target
	targetLabel := ""
	if o.target != "" {
		if target, err = flows.LoadTarget(o.target); err != nil {
			return usageErrorf("load: --target: %v", err)
		}
		targetLabel = target.Issuer
	} else {
		srv, err := mockprovider.StartBundled(ctx, mockprovider.LocalOptions{})
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer srv.Close()
		target = flows.MockTarget(srv.Issuer(), "")
		targetLabel = srv.Issuer()
		fmt.Fprintf(stderr, "load: bundled mock provider at %s\n", srv.Issuer())
	}
	defer target.CloseIdleConnections()
	if err := target.Discover(ctx); err != nil {
		return unreachableErrorf("load: target %s: %v", target.Issuer, err)
	}

	// Scenarios bound to grants.
	var scenarios []runner.Scenario
	var closers []io.Closer
	defer func() {
		// Reverse order: flows stop their background seeding before the browser goes.
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i].Close()
		}
	}()
	var browser *flows.Browser
	for _, spec := range plan.Scenarios {
		ex, ok := shard.Apply(spec.Executor)
		if !ok {
			fmt.Fprintf(stderr, "load: shard %s has no share of scenario %s; skipping it\n", shard, spec.Name)
			continue
		}
		consent, err := consentMode(spec, o.consent, target)
		if err != nil {
			return err
		}
		if consent == flows.ConsentBrowser && browser == nil && needsPages(spec.Flow) {
			if o.tabs < 1 {
				return usageErrorf("load: --tabs must be at least 1")
			}
			browser, err = flows.NewBrowser(ctx, flows.BrowserOptions{MaxTabs: o.tabs, OutDir: filepath.Join(o.out, "screenshots"), RemoteURL: o.browserURL})
			if err != nil {
				return fmt.Errorf("load: browser consent: %w", err)
			}
			closers = append(closers, browser)
		}
		sc, closer, err := bindScenario(spec, ex, grants.Config{Target: target, Consent: consent, Browser: browser})
		if err != nil {
			return usageErrorf("load: %v", err)
		}
		if closer != nil {
			closers = append(closers, closer)
		}
		scenarios = append(scenarios, sc)
	}
	if len(scenarios) == 0 {
		return usageErrorf("load: shard %s has nothing to run", shard)
	}

	reg := prometheus.NewRegistry()
	if o.metricsAddr != "" {
		srv, err := runner.ServeMetrics(o.metricsAddr, reg)
		if err != nil {
			return usageErrorf("load: %v", err)
		}
		defer srv.Close()
		fmt.Fprintf(stderr, "load: metrics at http://%s/metrics\n", srv.Addr())
	}
	stopPushing := func() {}
	if o.remoteWrite != "" {
		host, _ := os.Hostname()
		instance := strings.TrimSuffix(host+"/"+shard.String(), "/")
		w, err := runner.NewRemoteWriter(o.remoteWrite, reg, runner.RemoteWriteOptions{Job: "grantbench", Instance: instance,
			Interval: o.remoteWriteInterval, Protocol: o.remoteWriteProtocol})
		if err != nil {
			return usageErrorf("load: %v", err)
		}
		pushCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.Run(pushCtx, func(err error) { fmt.Fprintf(stderr, "load: %v\n", err) })
		}()
		stopPushing = func() { cancel(); <-done }
		defer stopPushing()
	}

	opts := runner.Options{
		RunID: o.runID, Version: version, Target: targetLabel, Shard: shard, Registerer: reg,
		GracefulStop: o.grace, Thresholds: thresholds,
	}
	if o.grace == 0 {
		opts.GracefulStop = -1 // cancel at once
	}
	if o.progress != "off" {
		opts.Progress = runner.NewProgressPrinter(stderr, o.progress == "auto" && isTerminal(stderr), 10*time.Second)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return usageErrorf("load: --cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("load: --cpuprofile: %w", err)
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
	fmt.Fprintf(stderr, "load: run %s: setup, then %s\n", o.runID, describePlan(scenarios))
	res, err := runner.Run(ctx, scenarios, opts)
	if err != nil && res == nil {
		if ctx.Err() != nil {
			return failedErrorf("load: interrupted during setup: %v", err)
		}
		if unreachable(err) {
			return unreachableErrorf("load: %v", err)
		}
		return failedErrorf("load: %v", err)
	}
	if err != nil {
		return failedErrorf("load: %v", err)
	}
	stopPushing() // final push before the summary

	path := filepath.Join(o.out, "load.json")
	if werr := res.WriteFile(path); werr != nil {
		return fmt.Errorf("load: %w", werr)
	}
	printSummary(stdout, res, path)

	if o.linger > 0 && ctx.Err() == nil {
		fmt.Fprintf(stderr, "load: serving final metrics for %s (Ctrl-C to stop)\n", o.linger)
		select {
		case <-ctx.Done():
		case <-time.After(o.linger):
		}
	}
	if res.Partial {
		return failedErrorf("load: interrupted after %s; partial result in %s", res.End.Sub(res.Start).Round(time.Millisecond), path)
	}
	if failed := res.Failed(); len(failed) > 0 {
		var parts []string
		for _, v := range failed {
			parts = append(parts, fmt.Sprintf("%q measured %s", v.Threshold, v.Display))
		}
		return failedErrorf("load: threshold breached: %s", strings.Join(parts, "; "))
	}
	if allTransportFailures(res) {
		return unreachableErrorf("load: no iteration got a response from %s (see %s)", targetLabel, path)
	}
	return nil
}

// plan builds the run's plan from --scenario or from the flag form.
func (o *loadOptions) plan(set map[string]bool) (*runner.Plan, error) {
	switch {
	case o.scenario != "" && o.flow != "":
		return nil, usageErrorf("load: give --scenario or --flow, not both")
	case o.scenario != "":
		for _, f := range executorFlags {
			if set[f] {
				return nil, usageErrorf("load: --%s belongs to the --flow form; with --scenario, set it in the file", f)
			}
		}
		plan, err := runner.LoadPlan(o.scenario)
		if err != nil {
			return nil, usageErrorf("load: --scenario %v", err)
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
		if ex.Workers == 0 {
			ex.Workers = 1
		}
	default:
		return nil, usageErrorf("load: --flow %s needs --rate (open model), --stages (ramping) or --workers (closed model)", o.flow)
	}
	if err := ex.ValidateFlags(); err != nil {
		return nil, usageErrorf("load: %v", err)
	}
	if err := checkFlowName(o.flow, o.consent); err != nil {
		return nil, err
	}
	spec := runner.ScenarioSpec{Name: o.flow, Flow: o.flow, Weight: 1, Executor: ex}
	if o.flow == "authorization_code" {
		spec.Consent = o.consent
	}
	return &runner.Plan{Scenarios: []runner.ScenarioSpec{spec}}, nil
}

func checkFlowName(flow, consent string) error {
	known := false
	for _, n := range runner.FlowNames() {
		known = known || n == flow
	}
	if !known {
		return usageErrorf("load: --flow %q: one of %s", flow, strings.Join(runner.FlowNames(), ", "))
	}
	if consent != "" && consent != "http" && consent != "browser" {
		return usageErrorf("load: --consent %q: want http or browser", consent)
	}
	return nil
}

// checkRateTarget refuses a rate-relative threshold over closed-model scenarios
// before the run rather than after it.
func checkRateTarget(th runner.Threshold, plan *runner.Plan) error {
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

// needsPages reports whether a flow drives the provider's login and consent pages
// (in its iterations or its setup).
func needsPages(flow string) bool {
	return flow == "authorization_code" || flow == "refresh" || flow == "device_code"
}

// consentMode picks how authorization_code logs in and consents.
func consentMode(spec runner.ScenarioSpec, flagValue string, t *flows.Target) (flows.ConsentMode, error) {
	mode := spec.Consent
	if mode == "" {
		mode = flagValue
	}
	switch mode {
	case "http":
		if !t.Features.HTTPConsent {
			return "", usageErrorf("load: scenario %s: --consent http needs a target whose pages can be posted over plain HTTP (features.http_consent); use --consent browser", spec.Name)
		}
		return flows.ConsentHTTP, nil
	case "browser":
		return flows.ConsentBrowser, nil
	case "":
		if t.Features.HTTPConsent {
			return flows.ConsentHTTP, nil
		}
		return flows.ConsentBrowser, nil
	}
	return "", usageErrorf("load: scenario %s: consent %q: want http or browser", spec.Name, mode)
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
func allTransportFailures(res *runner.Result) bool {
	var total int64
	for _, sc := range res.Scenarios {
		for outcome, n := range sc.Flows {
			switch outcome {
			case runner.OutcomeRefused, runner.OutcomeReset, runner.OutcomeTimeout, runner.OutcomeTransport:
				total += n
			case runner.OutcomeInterrupted:
			default:
				return false
			}
		}
	}
	return total > 0
}

// printSummary writes the human summary of a run.
func printSummary(w io.Writer, res *runner.Result, path string) {
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
		ok := sc.Flows[runner.OutcomeOK]
		var failed int64
		var failures []string
		for _, outcome := range sortedKeys(sc.Flows) {
			if outcome == runner.OutcomeOK || outcome == runner.OutcomeInterrupted {
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
		fmt.Fprintf(w, "  flows     %d ok, %d failed, %d interrupted, %d dropped; %.2f/s%s\n",
			ok, failed, sc.Flows[runner.OutcomeInterrupted], dropped, sc.AchievedRate, target)
		if len(failures) > 0 {
			fmt.Fprintf(w, "  failures  %s\n", strings.Join(failures, ", "))
		}
		fmt.Fprintf(w, "  latency   %s  (from intended start)\n", percentiles(sc.Latency))
		fmt.Fprintf(w, "  service   %s\n", percentiles(sc.ServiceTime))
		for _, st := range sc.Steps {
			var total int64
			var detail []string
			for _, c := range st.Requests {
				total += c.Count
				if c.Outcome != runner.OutcomeOK {
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
			fmt.Fprintf(w, "  %s  %-28s measured %s\n", verdict, v.Threshold, v.Display)
		}
	}
	fmt.Fprintf(w, "\nresult: %s\n", path)
}

func percentiles(h runner.Histogram) string {
	if h.Count == 0 {
		return "no samples"
	}
	f := runner.FormatSeconds
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

// bindScenario binds a scenario of the plan to its grant (runner/grants) with
// the executor to run, and returns what closes the flow's resources (seeding,
// tabs), nil when it holds none. The authorization code scenario is labelled
// with the consent mode it really uses.
func bindScenario(spec runner.ScenarioSpec, ex runner.Executor, cfg grants.Config) (runner.Scenario, io.Closer, error) {
	flow, err := grants.New(spec.Flow, cfg)
	if err != nil {
		return runner.Scenario{}, nil, fmt.Errorf("scenario %s: %w", spec.Name, err)
	}
	sc := runner.Scenario{Name: spec.Name, Flow: flow, Consent: spec.Consent, Weight: spec.Weight, Executor: ex, Classify: grants.Classify}
	if spec.Flow == "authorization_code" {
		sc.Consent = string(cfg.Consent)
	}
	closer, _ := flow.(io.Closer)
	return sc, closer, nil
}
