package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/rpapp"
	"github.com/grantbench/grantbench/suites"
	"github.com/grantbench/grantbench/suites/rp"
)

func init() {
	register("rp", "run the client-application checks (P0-P19) against an app, through the bundled mock", runRP)
}

// rpOptions are the flags of `grantbench rp`.
type rpOptions struct {
	app         string
	labelFilter string
	out         string
	browserURL  string
	strict      bool
	verbose     bool
	noColor     bool
}

var rpHelp = helpText{
	usage: "grantbench rp --app FILE [--label-filter EXPR] [--out DIR] [--browser-url ADDRESS] [--strict] [--no-color] [-v]",
	purpose: "Checks a client application's OAuth 2.0 / OpenID Connect login (the P checks of docs/checks.md): grantbench starts the bundled mock provider on 127.0.0.1 " +
		"with the app's client registered, starts the app (or uses the running one the profile names), and for each check gives the app one bad response " +
		"(a forged ID token, a dropped state, a token endpoint failure, ...) while a headless Chromium logs in through the app; the profile's logged_in signal " +
		"alone tells whether the user got in. Writes junit.xml, results.json, report.html, summary.md and app.log to --out.",
	exits: "0 every check passed (warnings included) or was skipped; 1 a check failed (or a warning with --strict; or P0, which stops the run); " +
		"2 bad usage or profile (the message names the field); 3 the app did not start, died, or never answered its ready path within 30 s (the message shows its log's tail)",
	example: "grantbench rp --app examples/apps/goapp/app.yaml --out out/rp",
}

func runRP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts rpOptions
	fs := flag.NewFlagSet("rp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.app, "app", "", "application profile YAML `file` (see the README's grantbench rp)")
	fs.StringVar(&opts.labelFilter, "label-filter", "", "Ginkgo label filter `expr` selecting checks, e.g. P1, 'rp && !P17', oidc")
	fs.StringVar(&opts.out, "out", "out/rp", "write junit.xml, results.json, report.html, summary.md, app.log and screenshots to `dir`")
	fs.StringVar(&opts.browserURL, "browser-url", "", browserURLUsage)
	fs.BoolVar(&opts.strict, "strict", false, "turn warnings into failures (exit 1)")
	fs.BoolVar(&opts.verbose, "v", false, "print every check, not only failures")
	fs.BoolVar(&opts.noColor, "no-color", false, "no ANSI colours in the output (none either when stdout is not a terminal or NO_COLOR is set)")
	setHelp(fs, rpHelp)
	if help, err := parseFlags(fs, args, "rp"); help || err != nil {
		return err
	}
	if opts.app == "" {
		return usageErrorf("rp: --app is required (the application profile)")
	}
	if err := checkBrowserURL(opts.browserURL); err != nil {
		return usageErrorf("rp: %v", err)
	}
	profile, err := rpapp.Load(opts.app)
	if err != nil {
		return usageErrorf("rp: %v", err)
	}
	runOpts := rp.Options{Profile: profile, LabelFilter: opts.labelFilter, OutDir: opts.out,
		BrowserURL: opts.browserURL, Strict: opts.strict, Verbose: opts.verbose,
		NoColor: !useColor(stdout, opts.noColor)}
	var out *outputDir
	if opts.out != "" {
		if out, err = prepareOutDir("rp", "--out", opts.out); err != nil {
			return err
		}
		runOpts.WriteResults = func(dir string, rep types.Report, r *redact.Redactor) error {
			return out.write(func(dir string) error { return writeRPResults(dir, rep, r) })
		}
	}
	_, err = rp.Run(ctx, runOpts)
	if out == nil {
		return rpError(err, "", stdout)
	}
	out.notice(stderr)
	if err := rpError(err, out.Dir(), stdout); err != nil {
		return err
	}
	return out.problem()
}

// writeRPResults writes results.json and junit.xml as conform does, then
// report.html and summary.md from the same redacted results.
func writeRPResults(dir string, rep types.Report, r *redact.Redactor) error {
	if err := reports.WriteGinkgoResults(dir, []types.Report{rep}, r); err != nil {
		return err
	}
	in, err := reports.ReadFiles(r, filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	return reports.WriteFiles(in, reports.Files{HTML: filepath.Join(dir, "report.html"), Markdown: filepath.Join(dir, "summary.md")},
		reports.HTMLOptions{Version: version}, io.Discard)
}

// rpError maps the outcome of an rp run to the exit codes.
func rpError(err error, out string, stdout io.Writer) error {
	var (
		start   *rpapp.StartError
		prof    *rpapp.ProfileError
		config  *suites.ConfigError
		chrome  *flows.ChromeMissingError
		failed  *suites.FailedError
		stopped *rp.StoppedError
	)
	reportsLine := func() {
		if out != "" {
			fmt.Fprintf(stdout, "results: %s/report.html, %s/summary.md, %s/junit.xml, %s/results.json (app log: %s/app.log)\n", out, out, out, out, out)
		}
	}
	switch {
	case err == nil:
		reportsLine()
		return nil
	case errors.As(err, &start):
		return unreachableErrorf("rp: %v", start)
	case errors.As(err, &chrome):
		return usageErrorf("rp: the checks need a browser: %v", chrome)
	case errors.As(err, &prof):
		return usageErrorf("rp: %v", prof)
	case errors.As(err, &config):
		return usageErrorf("rp: %v", config)
	case errors.As(err, &stopped):
		reportsLine()
		return failedErrorf("rp: %v", stopped)
	case errors.As(err, &failed):
		reportsLine()
		return failedErrorf("rp: %v", failed)
	default:
		return fmt.Errorf("rp: %w", err)
	}
}
