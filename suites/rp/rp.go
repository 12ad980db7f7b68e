// Package rp holds the client-application checks of `grantbench rp` (P0–P19
// of CHECKS.md): Ginkgo specs, labelled with their ID, `rp` and their
// sources' keys, that judge an application (the OAuth client) rather than a
// provider. The bundled mock provider runs in-process with the application's
// client registered; each check sets one bad response ("stimulus") at the
// mock, drives the application's login in headless Chromium through the
// mock's login and consent pages, and decides from the profile's logged_in
// signal alone whether the user got in.
//
// The verdicts are pass, warning (a lapse CHECKS.md counts as a warning: a
// passed spec with a "warning" report entry, see reports/doc.go; Options.Strict makes it a
// failure) and fail. A check the application makes moot (it sent no nonce)
// is skipped with the reason. [Run] is the entry point the CLI calls, once per
// process (a Ginkgo limit).
package rp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/rpapp"
	"github.com/grantbench/grantbench/suites"
)

// Options configure one rp run.
type Options struct {
	Profile *rpapp.Profile
	// LabelFilter selects checks ("P1", "rp && !P17", ...).
	LabelFilter string
	// OutDir receives junit.xml, results.json, report.html, summary.md,
	// app.log and screenshots/ ("" writes no reports; the log then goes to a
	// temporary folder).
	OutDir string
	// BrowserURL is a running Chromium's DevTools address to use instead of
	// starting one.
	BrowserURL string
	// Strict turns warnings into failures.
	Strict  bool
	Verbose bool
	NoColor bool
	// Grantbench is the value of the {{grantbench}} template (default: this
	// process's executable).
	Grantbench string
	// WriteResults writes the run's outputs to OutDir (the command line
	// passes results.json, junit.xml, report.html and summary.md writers);
	// required with OutDir. A parameter, as in suites.Options, so that the
	// checks do not pull the report renderers in.
	WriteResults func(dir string, rep types.Report, r *redact.Redactor) error
}

// Run starts the mock provider and the application, runs the selected checks
// and writes the reports. The error is nil when every check passed (warnings
// included) or was skipped; else a *suites.FailedError (a check failed, or
// P0 did: the run stopped), a *suites.ConfigError (bad options), a
// *rpapp.StartError (the application did not start, died or never got
// ready) or a *flows.ChromeMissingError.
func Run(ctx context.Context, opts Options) (types.Report, error) {
	if opts.Profile == nil {
		return types.Report{}, &suites.ConfigError{Err: errors.New("rp: no application profile")}
	}
	if opts.OutDir != "" && opts.WriteResults == nil {
		return types.Report{}, &suites.ConfigError{Err: errors.New("rp: OutDir without WriteResults")}
	}
	if _, err := types.ParseLabelFilter(opts.LabelFilter); err != nil {
		return types.Report{}, &suites.ConfigError{Err: fmt.Errorf("label filter: %w", err)}
	}
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.LabelFilter = opts.LabelFilter
	suiteConfig.FailOnEmpty = true
	suiteConfig.Timeout = 10 * time.Minute
	reporterConfig.NoColor = opts.NoColor
	reporterConfig.Verbose = opts.Verbose
	return run(ctx, opts, failureRecorder{}, suiteConfig, reporterConfig)
}

// StoppedError is a run that stopped early because P0 failed: no other
// verdict would mean anything. It unwraps to the *suites.FailedError.
type StoppedError struct {
	Reason  string
	LogTail string
	Failed  *suites.FailedError
}

func (e *StoppedError) Error() string {
	msg := "the run stopped: " + e.Reason
	if e.LogTail != "" {
		msg += "\n--- the app's log, last lines ---\n" + e.LogTail
	}
	return msg
}

func (e *StoppedError) Unwrap() error { return e.Failed }

// failureRecorder is the GinkgoTestingT of a run outside `go test`.
type failureRecorder struct{}

func (failureRecorder) Fail() {}

// run is shared by Run and the package's tests.
func run(ctx context.Context, opts Options, t ginkgo.GinkgoTestingT, suiteConfig types.SuiteConfig, reporterConfig types.ReporterConfig) (types.Report, error) {
	outDir := opts.OutDir
	workDir := outDir
	if workDir == "" {
		tmp, err := os.MkdirTemp("", "grantbench-rp-")
		if err != nil {
			return types.Report{}, err
		}
		defer os.RemoveAll(tmp)
		workDir = tmp
	}
	if err := os.MkdirAll(filepath.Join(workDir, "screenshots"), 0o755); err != nil {
		return types.Report{}, &suites.ConfigError{Err: fmt.Errorf("output directory: %w", err)}
	}
	e, cleanup, err := setUp(ctx, opts, workDir)
	if err != nil {
		return types.Report{}, err
	}
	defer cleanup()

	var report types.Report
	e.declare()
	ginkgo.ReportAfterSuite("grantbench rp results", func(r types.Report) {
		report = r
		if outDir == "" {
			return
		}
		gomega.Expect(opts.WriteResults(outDir, r, e.redactor)).To(gomega.Succeed())
	})
	gomega.RegisterFailHandler(ginkgo.Fail)
	restore := suites.RedactConsole(e.redactor)
	passed := ginkgo.RunSpecs(t, "grantbench rp: "+opts.Profile.Name, suiteConfig, reporterConfig)
	restore()

	if report.PreRunStats.SpecsThatWillRun == 0 {
		return report, &suites.ConfigError{Err: fmt.Errorf("label filter %q selects no check", opts.LabelFilter)}
	}
	if err := e.app.Died(); err != nil {
		return report, err
	}
	if !passed {
		failed := 0
		for _, s := range report.SpecReports {
			if s.State.Is(types.SpecStateFailureStates) {
				failed++
			}
		}
		if e.stopReason != "" {
			return report, &StoppedError{Reason: e.stopReason, LogTail: e.app.LogTail(), Failed: &suites.FailedError{Failed: failed}}
		}
		return report, &suites.FailedError{Failed: failed}
	}
	return report, nil
}

// mockScopes are the scopes the app's client may ask for.
var mockScopes = []string{"openid", "profile", "email", "offline_access"}

// setUp starts the mock with the app's client, the app and the browser.
func setUp(ctx context.Context, opts Options, workDir string) (*env, func(), error) {
	p := opts.Profile
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*env, func(), error) { cleanup(); return nil, nil, err }

	// The app's address first: the redirect URI usually names it.
	baseURL := p.App.BaseURL
	port := ""
	if baseURL == "" {
		n, err := rpapp.FreePort()
		if err != nil {
			return fail(fmt.Errorf("rp: a port for the app: %w", err))
		}
		port = strconv.Itoa(n)
		baseURL = "http://127.0.0.1:" + port
	} else {
		port = rpapp.Port(baseURL)
	}
	self := opts.Grantbench
	if self == "" {
		self, _ = os.Executable()
	}
	vals := rpapp.Values{"port": port, "base_url": baseURL, "grantbench": self}
	// The client's fields do not depend on the mock's address (the redirect
	// URI names the app); render them to register the client.
	pre, err := p.Render(vals)
	if err != nil {
		return fail(&suites.ConfigError{Err: err})
	}
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		return fail(&suites.ConfigError{Err: err})
	}
	client := mockprovider.Client{
		ID: pre.Values["client_id"], Secret: pre.Values["client_secret"], Public: p.Client.Public(),
		Name: p.Name, GrantTypes: []string{mockprovider.GrantAuthorizationCode, mockprovider.GrantRefreshToken},
		RedirectURIs: []string{pre.RedirectURI}, Scopes: mockScopes,
	}
	cfg.Clients = append(cfg.Clients, client)
	if err := cfg.Validate(); err != nil {
		return fail(&suites.ConfigError{Err: fmt.Errorf("client from the profile: %w", err)})
	}
	addr := p.Provider.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := mockprovider.StartLocal(ctx, addr, cfg)
	if err != nil {
		return fail(&suites.ConfigError{Err: fmt.Errorf("provider.addr %s: starting the mock provider: %w", addr, err)})
	}
	closers = append(closers, func() { srv.Close() })
	target := flows.MockTarget(srv.Issuer(), "")
	if err := target.Discover(ctx); err != nil {
		return fail(fmt.Errorf("rp: the mock's discovery: %w", err))
	}
	md := target.Metadata
	vals["issuer"] = md.Issuer
	vals["authorization_endpoint"] = md.AuthorizationEndpoint
	vals["token_endpoint"] = md.TokenEndpoint
	vals["jwks_uri"] = md.JWKSURI
	vals["userinfo_endpoint"] = md.UserinfoEndpoint
	rendered, err := p.Render(vals)
	if err != nil {
		return fail(&suites.ConfigError{Err: err})
	}

	app, err := rpapp.Start(ctx, rendered, p.App.Ready, filepath.Join(workDir, "app.log"))
	if err != nil {
		return fail(err)
	}
	closers = append(closers, app.Stop)

	browser, err := flows.NewBrowser(ctx, flows.BrowserOptions{RemoteURL: opts.BrowserURL, MaxTabs: 4})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { browser.Close() })

	issuerURL, _ := url.Parse(md.Issuer)
	e := &env{
		runCtx: ctx, profile: p, strict: opts.Strict || false, rendered: rendered, app: app,
		mock: srv.Provider(), metadata: md, provider: issuerURL, user: target.User,
		clientID: client.ID, browser: browser, screenshotDir: filepath.Join(workDir, "screenshots"),
		redactor: redact.New(client.Secret, target.User.Password),
		// Redirects are the app's answer, not something to follow.
		raw: &http.Client{Timeout: loginTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	return e, cleanup, nil
}
