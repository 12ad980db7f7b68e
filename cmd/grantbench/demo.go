package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/runner/grants"
	"github.com/grantbench/grantbench/suites"
)

func init() {
	register("demo", "the main job: bundled mock + conformance in headless Chrome + a short load run + reports", runDemo)
}

// demoOptions are the flags of `grantbench demo`; every one has a default, so
// `grantbench demo` alone runs the whole job.
type demoOptions struct {
	out          string
	loadDuration time.Duration
	metricsAddr  string
	thresholds   stringList
	noColor      bool
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o demoOptions
	fs := flag.NewFlagSet("grantbench demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "out", "write junit.xml, results.json, load.json, report.html and summary.md to `DIR`")
	fs.DurationVar(&o.loadDuration, "load-duration", 5*time.Second, "how long (a `duration`) each load scenario runs")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:0", "serve Prometheus /metrics on this `host:port` during the load run")
	fs.Var(&o.thresholds, "threshold", "load threshold `expression`, repeatable; replaces the built-in "+strings.Join(demoThresholds, ", "))
	fs.BoolVar(&o.noColor, "no-color", false, "no ANSI colours in the output (none either when stdout is not a terminal or NO_COLOR is set)")
	setHelp(fs, helpText{
		usage: "grantbench demo [--out DIR] [--load-duration DURATION] [--metrics-addr HOST:PORT] [--threshold EXPR ...] [--no-color]",
		purpose: "The main job (make run): starts the bundled mock provider on 127.0.0.1, runs the whole conformance catalogue against it " +
			"(logins and consent in headless Chromium), the client-application checks against the bundled Go example app, then a short load run " +
			"(client credentials, authorization code with HTTP consent, refresh) with /metrics served, and writes junit.xml, results.json, load.json, " +
			"report.html and summary.md to --out, and the rp run's outputs to DIR/rp.",
		exits:   exitCodesChecks + " (a load threshold breached is 1 too)",
		example: "grantbench demo --out out --load-duration 10s",
	})
	if help, err := parseFlags(fs, args, "demo"); help || err != nil {
		return err
	}
	if o.loadDuration <= 0 || o.loadDuration > 10*time.Minute {
		return usageErrorf("demo: --load-duration %s: want more than 0 and at most 10m", o.loadDuration)
	}
	if _, err := prepareOutDir("demo", "--out", o.out); err != nil {
		return err // before minutes of checks whose results could not be kept
	}
	started := time.Now()

	// One bundled mock serves both the conformance run and the load run.
	srv, err := mockprovider.StartBundled(ctx, mockprovider.LocalOptions{AdminToken: true})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer srv.Close()
	// The demo's own lines, the load progress and the error it ends with are
	// redacted like its files (the checks redact their console themselves).
	redactor := redact.New(append(srv.Secrets(), demoAppSecret)...)
	console, progress := redactor.Writer(stderr), stderr
	defer console.Flush()
	stderr = console
	fmt.Fprintf(stderr, "demo: bundled mock provider at %s\n\n", srv.Issuer())

	// 1. The conformance catalogue, browser included.
	target := flows.MockTarget(srv.Issuer(), srv.AdminToken)
	defer target.CloseIdleConnections()
	useTargetSecrets(redactor, target)
	info := &reports.RunInfo{Command: "demo", Version: version, Profile: target.Name, Issuer: target.Issuer}
	_, conformErr := suites.Run(ctx, suites.Options{Target: target, OutDir: o.out, NoColor: !useColor(stdout, o.noColor),
		WriteResults: func(dir string, reps []types.Report, r *redact.Redactor) error {
			return reports.WriteGinkgoResultsWith(dir, reps, r, info)
		}})
	var failed *suites.FailedError
	if conformErr != nil && !errors.As(conformErr, &failed) {
		// Chrome missing, a config error or an unreachable target: no point going on.
		return conformError(conformErr, o.out, stdout)
	}
	if ctx.Err() != nil {
		return failedErrorf("demo: interrupted during the conformance run")
	}

	// 2. The client-application checks against the bundled Go example app.
	rpOut := filepath.Join(o.out, "rp")
	fmt.Fprintf(stderr, "\ndemo: client-application checks (grantbench rp) against the bundled Go example app\n")
	rpErr := demoRP(ctx, rpOut, o.noColor, stdout, stderr)
	if rpErr != nil && !errors.Is(rpErr, errRPChecksFailed) {
		return rpErr
	}
	if ctx.Err() != nil {
		return failedErrorf("demo: interrupted during the client-application checks")
	}

	// 3. A short load run against the same provider.
	fmt.Fprintf(stderr, "\ndemo: load run, %s per scenario\n", o.loadDuration)
	console.Flush()
	// The progress line holds counts only and is rewritten in place on a
	// terminal, which a line-buffered redactor would hold back.
	res, err := demoLoad(ctx, target, o, progress)
	if err != nil {
		return err
	}
	loadPath := filepath.Join(o.out, "load.json")
	if err := res.WriteFile(loadPath); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	printSummary(stdout, res, loadPath)

	// 4. Reports from the saved results, exactly as `grantbench report` would
	// make them: the provider checks, the client-application checks, the load run.
	in, err := reports.ReadFiles(redactor,
		filepath.Join(o.out, "results.json"), filepath.Join(rpOut, "results.json"), loadPath)
	if err != nil {
		return fmt.Errorf("demo: reading results: %w", err)
	}
	// junit.xml is written again here: one test case per check with its ID and
	// source as properties, redacted like every other output.
	files := reports.Files{HTML: filepath.Join(o.out, "report.html"), Markdown: filepath.Join(o.out, "summary.md"),
		JUnit: filepath.Join(o.out, "junit.xml")}
	if err := reports.WriteFiles(in, files, reports.HTMLOptions{Version: version}, stdout); err != nil {
		return fmt.Errorf("demo: writing reports: %w", err)
	}
	fmt.Fprintf(stdout, "\ngrantbench demo: %s\n", in.Summary())
	fmt.Fprintf(stdout, "report: %s (junit.xml, results.json, load.json, summary.md beside it); took %s\n",
		files.HTML, time.Since(started).Round(100*time.Millisecond))

	switch {
	case conformErr != nil:
		return failedErrorf("demo: %v", conformErr)
	case rpErr != nil:
		return failedErrorf("demo: a client-application check failed (see %s)", filepath.Join(rpOut, "report.html"))
	case res.Partial:
		return failedErrorf("demo: load run interrupted; partial result in %s", loadPath)
	case len(res.Failed()) > 0:
		return failedErrorf("demo: a load threshold was breached (see %s)", files.HTML)
	}
	return nil
}

// demoPlan is the short load run: client credentials at a steady rate, the
// authorization code flow with HTTP consent, and refresh, side by side.
func demoPlan(d time.Duration) *runner.Plan {
	open := func(rate float64) runner.Executor {
		return runner.Executor{Kind: runner.ExecutorConstantArrivalRate, Rate: rate, Duration: d, MaxInFlight: 64}
	}
	return &runner.Plan{
		Scenarios: []runner.ScenarioSpec{
			{Name: flows.FlowClientCredentials, Flow: flows.FlowClientCredentials, Weight: 1, Executor: open(100)},
			{Name: flows.FlowAuthCode, Flow: flows.FlowAuthCode, Consent: string(flows.ConsentHTTP), Weight: 1, Executor: open(20)},
			{Name: flows.FlowRefresh, Flow: flows.FlowRefresh, Weight: 1, Executor: open(40)},
		},
	}
}

// demoThresholds judge the demo's load run unless --threshold replaces them.
var demoThresholds = []string{"error_rate<1%", flows.FlowClientCredentials + ":p99<1s"}

func demoLoad(ctx context.Context, target *flows.Target, o demoOptions, stderr io.Writer) (*loadresult.Result, error) {
	plan := demoPlan(o.loadDuration)
	exprs := []string(o.thresholds)
	if len(exprs) == 0 {
		exprs = demoThresholds
	}
	thresholds, err := loadresult.ParseThresholds(exprs)
	if err != nil {
		return nil, usageErrorf("demo: %v", err)
	}
	bound, err := grants.Bind(ctx, plan, grants.BindOptions{Target: target, Consent: string(flows.ConsentHTTP)})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer bound.Close()

	reg := prometheus.NewRegistry()
	metrics, err := runner.ServeMetrics(o.metricsAddr, reg)
	if err != nil {
		return nil, usageErrorf("demo: --metrics-addr: %v", err)
	}
	defer metrics.Close()
	fmt.Fprintf(stderr, "demo: metrics at http://%s/metrics\n", metrics.Addr())

	res, err := runner.Run(ctx, bound.Scenarios, runner.Options{
		RunID: newRunID(), Version: version, Target: target.Issuer, Registerer: reg, Thresholds: thresholds,
		Progress: runner.NewProgressPrinter(stderr, isTerminal(stderr), 2*time.Second),
	})
	if err != nil && res == nil {
		return nil, failedErrorf("demo: load run: %v", err)
	}
	return res, nil
}

// demoAppSecret is the bundled Go example app's client secret in the demo's
// profile; the reports redact it like the mock's own secrets.
const demoAppSecret = "goapp-secret"

// errRPChecksFailed says the demo's rp run ended with exit 1: checks ran and
// some failed, which the demo reports at its end like a failed provider check.
var errRPChecksFailed = errors.New("demo: a client-application check failed")

// selfCommand returns the command line that runs this binary with args: the
// demo's rp run and the example app it starts are this same binary, so no Go
// toolchain is needed at run time. Tests, whose binary is not grantbench,
// replace it with one that re-executes the test binary into run().
var selfCommand = func(args ...string) (argv, env []string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	return append([]string{exe}, args...), nil, nil
}

// demoRP runs `grantbench rp` against the bundled Go example app (started as
// `grantbench example-app`) in a child process, because Ginkgo runs its specs
// once per process and the conformance run has had that turn. Its reports go
// to out, beside the demo's own.
func demoRP(ctx context.Context, out string, noColor bool, stdout, stderr io.Writer) error {
	appArgv, appEnv, err := selfCommand("example-app")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usageErrorf("demo: --out: %v", err)
	}
	profile := demoAppProfile(appArgv, appEnv)
	profilePath := filepath.Join(out, "goapp.yaml")
	if err := os.WriteFile(profilePath, []byte(profile), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	rpArgs := []string{"rp", "--app", profilePath, "--out", out}
	if noColor {
		rpArgs = append(rpArgs, "--no-color")
	}
	argv, env, err := selfCommand(rpArgs...)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == exitFailed:
		return errRPChecksFailed
	case errors.As(err, &exit):
		return fmt.Errorf("demo: grantbench rp against the example app ended with exit %d (see %s)", exit.ExitCode(), filepath.Join(out, "app.log"))
	default:
		return fmt.Errorf("demo: grantbench rp: %w", err)
	}
}

// demoAppProfile is examples/apps/goapp/app.yaml with the app's command line
// spelled out (this binary, or the test binary in tests).
func demoAppProfile(appArgv, appEnv []string) string {
	var b strings.Builder
	b.WriteString("# Written by grantbench demo: the bundled Go example app (examples/apps/goapp).\n")
	b.WriteString("name: goapp\napp:\n  command: [")
	for i, a := range appArgv {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", a)
	}
	b.WriteString("]\n  env:\n")
	for _, kv := range appEnv {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "    %s: %q\n", k, v)
	}
	b.WriteString(`    ISSUER: "{{issuer}}"
    CLIENT_ID: "{{client_id}}"
    CLIENT_SECRET: "{{client_secret}}"
    AUTH_METHOD: client_secret_basic
    REDIRECT_URI: "{{redirect_uri}}"
    PORT: "{{port}}"
  ready: /healthz
client:
  client_id: goapp
  client_secret: ` + demoAppSecret + `
  auth_method: client_secret_basic
  redirect_uri: "{{base_url}}/callback"
login: /login
logged_in:
  path: /me
  text: "logged in as alice"
`)
	return b.String()
}
