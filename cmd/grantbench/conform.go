package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/suites"
)

func init() {
	register("conform", "run the conformance checks against a provider (default: the bundled mock)", runConform)
}

// conformOptions are the flags of `grantbench conform`.
type conformOptions struct {
	target      string
	labelFilter string
	out         string
	defects     stringList
	settings    stringList
	listSetting bool
	noColor     bool
	verbose     bool
	browserURL  string
	noReports   bool
	strict      bool
}

func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts conformOptions
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.target, "target", "", "target profile YAML `file` (see examples/targets/template.yaml); default: start the bundled mock provider on 127.0.0.1")
	fs.StringVar(&opts.labelFilter, "label-filter", "", "Ginkgo label filter `expr` selecting checks, e.g. AC2, rfc9700, 'authcode && !browser'")
	fs.StringVar(&opts.out, "out", "out", "write junit.xml, results.json, report.html, summary.md and screenshots to `dir` (\"\" for none)")
	fs.Var(&opts.defects, "defect", "switch on the defect mode `name` of the bundled mock (repeatable; grantbench provider --list-defects lists them)")
	fs.Var(&opts.settings, "mock-setting", "apply a `setting` of the bundled mock: a behaviour the specifications allow besides its default, which every check must pass (repeatable; see --list-mock-settings)")
	fs.BoolVar(&opts.listSetting, "list-mock-settings", false, "print every setting of the bundled mock, and exit")
	fs.BoolVar(&opts.noColor, "no-color", false, "no ANSI colours in the output (none either when stdout is not a terminal or NO_COLOR is set)")
	fs.BoolVar(&opts.verbose, "v", false, "print every check, not only failures")
	fs.StringVar(&opts.browserURL, "browser-url", "", browserURLUsage)
	fs.BoolVar(&opts.noReports, "no-reports", false, "write only junit.xml and results.json, not report.html and summary.md")
	fs.BoolVar(&opts.strict, "strict", false, "turn warnings (a SHOULD the provider does not meet) into failures (exit 1)")
	setHelp(fs, helpText{
		usage: "grantbench conform [--target FILE] [--label-filter EXPR] [--out DIR] [--defect NAME ...] [--mock-setting SETTING ...] [--browser-url ADDRESS] [--strict] [--no-reports] [--no-color] [-v]",
		purpose: "Runs the conformance checks of docs/checks.md (OAuth 2.0, OpenID Connect, the security BCP) against a provider: " +
			"the bundled mock, started on 127.0.0.1, or the provider a target profile names. Logins and consent go through headless Chromium. " +
			"Writes junit.xml (one test case per check), results.json, report.html and summary.md to --out.",
		exits:   "0 every check passed (warnings included); 1 a check failed (or a warning with --strict); 2 bad usage or configuration (the message names the flag or field); 3 the target could not be reached",
		example: "grantbench conform --label-filter AC2\ngrantbench conform --target examples/targets/zitadel.yaml --out out/zitadel",
	})
	if help, err := parseFlags(fs, args, "conform"); help || err != nil {
		return err
	}
	if err := checkBrowserURL(opts.browserURL); err != nil {
		return usageErrorf("conform: %v", err)
	}
	if opts.listSetting {
		for _, s := range mockprovider.Settings() {
			warns := ""
			if len(s.Warns) > 0 {
				warns = " (warns: " + strings.Join(s.Warns, ",") + ")"
			}
			fmt.Fprintf(stdout, "%-30s %s%s\n", s.Name, s.Does, warns)
		}
		return nil
	}

	runOpts := suites.Options{LabelFilter: opts.labelFilter, OutDir: opts.out, Defects: opts.defects, MockSettings: opts.settings,
		// Colours only on a terminal without NO_COLOR, never in CI logs.
		NoColor: !useColor(stdout, opts.noColor), Verbose: opts.verbose, BrowserURL: opts.browserURL, Strict: opts.strict}
	if opts.target != "" {
		target, err := flows.LoadTarget(opts.target)
		if err != nil {
			return usageErrorf("conform: %v", err)
		}
		if err := target.CheckAdminToken(); err != nil {
			return usageErrorf("conform: %s: %v", opts.target, err)
		}
		runOpts.Target = target
	}
	// What the run judges, for the top of every report made from it.
	info := &reports.RunInfo{Command: "conform", Version: version, Defects: opts.defects, MockSettings: opts.settings, LabelFilter: opts.labelFilter}
	runOpts.Started = func(t *flows.Target) { info.Profile, info.Issuer = t.Name, t.Issuer }
	var out *outputDir
	if opts.out != "" {
		var err error
		if out, err = prepareOutDir("conform", "--out", opts.out); err != nil {
			return err
		}
		runOpts.WriteResults = func(dir string, reps []types.Report, r *redact.Redactor) error {
			return out.write(func(dir string) error { return reports.WriteGinkgoResultsWith(dir, reps, r, info) })
		}
	}
	rep, err := suites.Run(ctx, runOpts)
	if n := warnedChecks(rep); n > 0 && err == nil {
		fmt.Fprintf(stdout, "%d check(s) passed with a warning (a SHOULD not met; --strict fails them)\n", n)
	}
	if out == nil {
		return conformError(err, "", stdout)
	}
	out.notice(stderr)
	var failed *suites.FailedError
	if !opts.noReports && (err == nil || errors.As(err, &failed)) {
		if rerr := writeConformReports(out.Dir(), stdout); rerr != nil {
			return rerr
		}
	}
	if err := conformError(err, out.Dir(), stdout); err != nil {
		return err
	}
	return out.problem()
}

// writeConformReports writes report.html and summary.md beside junit.xml from
// the results.json the run wrote, as `grantbench report` would from it.
func writeConformReports(out string, stdout io.Writer) error {
	in, err := reports.ReadFiles(redact.New(), filepath.Join(out, "results.json"))
	if err != nil {
		return fmt.Errorf("conform: reading the results back: %w", err)
	}
	files := reports.Files{HTML: filepath.Join(out, "report.html"), Markdown: filepath.Join(out, "summary.md")}
	if err := reports.WriteFiles(in, files, reports.HTMLOptions{Version: version}, stdout); err != nil {
		return fmt.Errorf("conform: writing reports: %w", err)
	}
	fmt.Fprintf(stdout, "report: %s (summary.md beside it)\n", files.HTML)
	return nil
}

// warnedChecks counts the passed specs that recorded a warning.
func warnedChecks(rep types.Report) int {
	n := 0
	for _, s := range rep.SpecReports {
		if s.State != types.SpecStatePassed {
			continue
		}
		if slices.ContainsFunc(s.ReportEntries, func(e types.ReportEntry) bool { return e.Name == reports.EntryWarning }) {
			n++
		}
	}
	return n
}

// conformError maps the outcome of a run to the exit codes (main.go).
func conformError(err error, out string, stdout io.Writer) error {
	var (
		unreachable *suites.UnreachableError
		discovery   *suites.DiscoveryError
		config      *suites.ConfigError
		chrome      *flows.ChromeMissingError
		failed      *suites.FailedError
	)
	switch {
	case err == nil:
		if out != "" {
			fmt.Fprintf(stdout, "results: %s/junit.xml, %s/results.json\n", out, out)
		}
		return nil
	case errors.As(err, &chrome):
		return usageErrorf("conform: a check needs a browser: %v", chrome)
	case errors.As(err, &config):
		return usageErrorf("conform: %v", config)
	case errors.As(err, &unreachable):
		return unreachableErrorf("conform: %v", unreachable)
	case errors.As(err, &discovery):
		// The target answered: it is there, and it fails discovery.
		return failedErrorf("conform: %v", discovery)
	case errors.As(err, &failed):
		if out != "" {
			fmt.Fprintf(stdout, "results: %s/junit.xml, %s/results.json\n", out, out)
		}
		return failedErrorf("conform: %v", failed)
	default:
		// The run itself broke (the bundled mock did not start, say).
		return fmt.Errorf("conform: %w", err)
	}
}

const browserURLUsage = "DevTools `address` of a Chromium that runs already (ws://127.0.0.1:9222/devtools/browser/ID or http://127.0.0.1:9222) to open tabs in, instead of starting one"

// checkBrowserURL vets --browser-url ("" is fine: start a browser).
func checkBrowserURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("--browser-url %q: want a ws:// or http:// DevTools address", raw)
	}
	return nil
}
