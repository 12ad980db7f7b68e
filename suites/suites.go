// Package suites holds grantbench's conformance checks: Ginkgo v2 specs, one file
// per area of CHECKS.md, each spec named and labelled after its check ID, area
// and source (`It("AC2: ...", Label("AC2", "rfc6749"))` inside an area container
// labelled "authcode").
//
// The specs are declared by [Run] (the entry point `grantbench conform` calls, no
// Go toolchain needed) or by the package's own test (`go test ./suites/...`,
// `ginkgo ./suites`), then run once with RunSpecs: Ginkgo allows one run per
// process. Every check reads what it needs from the target profile (clients by
// role, claimed features); a check the target cannot support is skipped with the
// reason, never passed.
//
// A check has three verdicts: passed, failed, and warning, a passed spec that
// recorded a lapse from a SHOULD of the catalogue (a report entry named
// "warning", which the reports package renders as such; Options.Strict fails
// the spec instead).
//
// Token validation (signatures against the JWKS, one check per claim) lives in
// plain Go in jwtcheck.go so it can be tested and fuzzed without Ginkgo.
package suites

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
)

// Options configure one run of the suites.
type Options struct {
	// Target is the provider under test; nil starts the bundled mock provider
	// in-process on 127.0.0.1:0 with its admin API on.
	Target *flows.Target
	// LabelFilter is a Ginkgo label filter ("AC2", "rfc9700 && !browser", ...).
	LabelFilter string
	// OutDir receives junit.xml, results.json and browser screenshots; "" writes
	// no files (screenshots then go to a temporary directory).
	OutDir string
	// WriteResults writes junit.xml and results.json into OutDir from the run's
	// report, redacting with the redactor that knows the target's secrets;
	// grantbench passes reports.WriteGinkgoResults. Required with OutDir: the
	// suites leave the file formats to the reports package instead of importing
	// it (and its charts).
	WriteResults func(dir string, reps []types.Report, r *redact.Redactor) error
	// Defects are defect modes of the bundled mock to switch on, NAME for the
	// whole provider or CLIENT:NAME for one client (see `grantbench provider
	// --list-defects`); an error when Target is set.
	Defects []string
	// MockSettings are settings of the bundled mock to apply (see `grantbench
	// conform --list-mock-settings`): behaviours the specifications allow
	// besides the mock's default, each of which the suites must pass; an
	// error when Target is set.
	MockSettings []string
	// NoColor turns off ANSI colours in Ginkgo's output.
	NoColor bool
	// Verbose prints every spec, not only failures.
	Verbose bool
	// BrowserURL is the DevTools address of a Chromium that runs already, to
	// open the browser checks' tabs in (a browser context of this run's own)
	// instead of starting one; see flows.BrowserOptions.RemoteURL.
	BrowserURL string
	// Strict turns warnings (a SHOULD of the catalogue not met) into failures.
	Strict bool
	// Started, when set, is called with the target once it is known (the
	// bundled mock started, discovery done) and before any check runs: the
	// command line names it in the reports.
	Started func(target *flows.Target)
}

// UnreachableError means the target could not be reached (its discovery
// document did not arrive): nothing was checked.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "suites: target unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// DiscoveryError means the target answered discovery, but with nothing the
// checks can run on (not JSON, HTML, a 500, a redirect, no token endpoint):
// the error says what came back.
type DiscoveryError struct{ Err error }

func (e *DiscoveryError) Error() string {
	return "suites: the target's discovery document is unusable: " + e.Err.Error()
}
func (e *DiscoveryError) Unwrap() error { return e.Err }

// ConfigError means the options or the target profile are unusable.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "suites: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// FailedError means at least one check failed; the report says which.
type FailedError struct{ Failed int }

func (e *FailedError) Error() string { return fmt.Sprintf("suites: %d check(s) failed", e.Failed) }

// Run runs the suites against opts.Target (or the bundled mock), printing
// Ginkgo's usual output on stdout, and returns the Ginkgo report. The error is
// nil when every selected check passed or was skipped; otherwise a
// *FailedError, *UnreachableError, *DiscoveryError, *ConfigError, or a *flows.ChromeMissingError
// when a check needed the browser and none was found. Run can be called once per
// process (a Ginkgo limit).
func Run(ctx context.Context, opts Options) (types.Report, error) {
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.LabelFilter = opts.LabelFilter
	suiteConfig.FailOnEmpty = true
	suiteConfig.Timeout = 10 * time.Minute
	reporterConfig.NoColor = opts.NoColor
	reporterConfig.Verbose = opts.Verbose
	if _, err := types.ParseLabelFilter(opts.LabelFilter); err != nil {
		return types.Report{}, &ConfigError{Err: fmt.Errorf("label filter: %w", err)}
	}
	return run(ctx, opts, runFailureRecorder{}, suiteConfig, reporterConfig)
}

// runFailureRecorder is the GinkgoTestingT of a run outside `go test`: the
// verdict comes from the report, so Fail has nothing to record.
type runFailureRecorder struct{}

func (runFailureRecorder) Fail() {}

// run is shared by Run and the package test: it prepares the target, declares
// the specs and runs them with the given configuration.
func run(ctx context.Context, opts Options, t ginkgo.GinkgoTestingT, suiteConfig types.SuiteConfig, reporterConfig types.ReporterConfig) (types.Report, error) {
	target := opts.Target
	if target != nil && len(opts.Defects) > 0 {
		return types.Report{}, &ConfigError{Err: errors.New("defects apply to the bundled mock provider only; drop --target to use them")}
	}
	if target != nil && len(opts.MockSettings) > 0 {
		return types.Report{}, &ConfigError{Err: errors.New("mock settings apply to the bundled mock provider only; drop --target to use them")}
	}
	if target == nil {
		mock, mockTarget, err := startMock(ctx, opts.Defects, opts.MockSettings)
		if err != nil {
			return types.Report{}, err
		}
		defer mock.Close()
		target = mockTarget
	}
	// issuer is what tokens must name: the metadata's issuer once flows has
	// checked it against the profile, else the profile's own.
	issuer := target.Issuer
	if err := target.Discover(ctx); err != nil {
		var transport *flows.TransportError
		if errors.As(err, &transport) {
			return types.Report{}, &UnreachableError{Err: err}
		}
		// A document arrived but flows refuses it (an issuer that differs from
		// the profile's, say). That is for M1 to report: the other checks run on
		// the document as served, if it names a token endpoint at all.
		md, lerr := lenientMetadata(ctx, target)
		if errors.As(lerr, &transport) {
			return types.Report{}, &UnreachableError{Err: lerr}
		}
		if lerr != nil {
			return types.Report{}, &DiscoveryError{Err: err}
		}
		target.ApplyEndpoints(md)
		target.Metadata = md
	} else {
		issuer = target.Metadata.Issuer
	}
	screenshotDir := ""
	if opts.OutDir != "" {
		if opts.WriteResults == nil {
			return types.Report{}, &ConfigError{Err: errors.New("an output directory needs Options.WriteResults")}
		}
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return types.Report{}, &ConfigError{Err: fmt.Errorf("output directory: %w", err)}
		}
		screenshotDir = filepath.Join(opts.OutDir, "screenshots")
	}

	if opts.Started != nil {
		opts.Started(target)
	}
	e := newEnv(ctx, target, issuer, screenshotDir)
	e.browserURL = opts.BrowserURL
	e.strict = opts.Strict
	var report types.Report
	e.declare()
	ginkgo.ReportAfterSuite("grantbench results", func(r types.Report) {
		report = r
		if opts.OutDir == "" {
			return
		}
		// Not Ginkgo's own generators: those write failure messages and captured
		// output unredacted, and their JUnit has no per-check ID and source.
		gomega.Expect(opts.WriteResults(opts.OutDir, []types.Report{r}, e.redactor)).To(gomega.Succeed())
	})
	// Failure messages without Go types and addresses (failmessages.go).
	gomega.RegisterFailHandler(failureHandler())
	restore := RedactConsole(e.redactor)
	passed := ginkgo.RunSpecs(t, "grantbench conformance: "+target.Name, suiteConfig, reporterConfig)
	restore()

	if err := e.chromeMissing(); err != nil {
		return report, err
	}
	if report.PreRunStats.SpecsThatWillRun == 0 {
		return report, &ConfigError{Err: fmt.Errorf("label filter %q selects no check", opts.LabelFilter)}
	}
	if !passed {
		failed := 0
		for _, s := range report.SpecReports {
			if s.State.Is(types.SpecStateFailureStates) {
				failed++
			}
		}
		return report, &FailedError{Failed: failed}
	}
	return report, nil
}

// RedactConsole sends what Ginkgo's console reporter prints (spec names,
// failure messages, report entries, -v's extra output) through r, as the
// files are, until the returned func is called; it flushes what is left.
// A failure message can hold a whole authorization response (B8's HaveKey
// printed the code in full).
func RedactConsole(r *redact.Redactor) (restore func()) {
	prev := formatter.ColorableStdOut
	console := r.Writer(prev)
	formatter.ColorableStdOut = console
	return func() {
		console.Flush()
		formatter.ColorableStdOut = prev
	}
}

// startMock starts the bundled mock provider with a fresh admin token, the
// given defects and settings, and returns it with its target profile.
func startMock(ctx context.Context, defects, settings []string) (*mockprovider.Local, *flows.Target, error) {
	mock, err := mockprovider.StartBundled(ctx, mockprovider.LocalOptions{Defects: defects, Settings: settings, AdminToken: true})
	if errors.Is(err, mockprovider.ErrLocalConfig) {
		return nil, nil, &ConfigError{Err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("suites: %w", err)
	}
	return mock, mockProfile(mock), nil
}

// mockProfile is the target profile of a running bundled mock: what its
// configuration serves (lifetimes, access token format, optional behaviours),
// as a profile for a real provider would state it. Defects are not part of it:
// a profile describes the provider as it should behave.
func mockProfile(mock *mockprovider.Local) *flows.Target {
	t := flows.MockTarget(mock.Issuer(), mock.AdminToken)
	cfg := mock.Config
	t.Lifetimes = flows.Lifetimes{
		AccessToken:  cfg.Lifetimes.AccessToken,
		RefreshToken: cfg.Lifetimes.RefreshToken,
		Code:         cfg.Lifetimes.AuthorizationCode,
		DeviceCode:   cfg.Lifetimes.DeviceCode,
		IDToken:      cfg.Lifetimes.IDToken,
	}
	t.Features.JWTAccessTokens = cfg.AccessTokenFormat == mockprovider.AccessTokenJWT
	t.Features.SlowDown = !cfg.Behaviour.NeverSlowDown
	b := cfg.Behaviour
	// What a user writes in the profile of a provider that behaves so.
	if b.UnadvertisedEndpoints {
		t.Endpoints.Introspection = &flows.Endpoint{URL: t.Issuer + "/introspect", Auth: flows.EndpointAuthClient}
		t.Endpoints.Revocation = &flows.Endpoint{URL: t.Issuer + "/revoke", Auth: flows.EndpointAuthClient}
	}
	t.Lifetimes.ClockSkew = b.ClockSkew
	if b.CustomPages {
		login, consent, errorPage := mockprovider.CustomPageSelectors()
		t.Browser.Login = flows.LoginSelectors{Username: login[0], Password: login[1], Submit: login[2]}
		t.Browser.Consent = flows.ConsentSelectors{Approve: consent[0], Deny: consent[1]}
		t.Browser.Error, t.Browser.ErrorDescription = errorPage[0], errorPage[1]
	}
	if b.DeviceDeniedPage {
		t.Browser.Device.Denied = "#device-denied"
	}
	return t
}

// lenientMetadata reads the discovery document without the checks flows makes
// (issuer identical to the profile's), for a run whose M1 will report them.
func lenientMetadata(ctx context.Context, t *flows.Target) (*flows.Metadata, error) {
	md, err := t.ReadMetadata(ctx)
	if err != nil {
		return nil, err
	}
	if md.TokenEndpoint == "" {
		return nil, fmt.Errorf("%s: no token_endpoint", md.Source)
	}
	return md, nil
}
