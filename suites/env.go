package suites

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL reads as prose
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega" //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/trace"
)

// env is what every spec of one run shares: the target, a raw HTTP client, the
// browser (started on first use) and the evidence of the running spec. Ginkgo
// runs the specs of a process one at a time, so the per-spec fields need no lock;
// the browser has one because its start is lazy.
type env struct {
	runCtx context.Context
	target *flows.Target
	// issuer is the issuer tokens must name (the validated discovery issuer).
	issuer string
	raw    *http.Client
	// pages is raw with a cookie jar, new for each spec: the client that
	// follows an authorization request's redirects keeps the cookies a
	// provider binds its login page to, and no spec sees another's.
	pages         *http.Client
	screenshotDir string
	// browserURL, when set, is a running Chromium to connect to (Options.BrowserURL).
	browserURL string
	// strict makes warn fail the spec (Options.Strict).
	strict bool
	// redactor shortens secrets in the evidence attached to failed specs: it
	// ends up in results.json and in reports people share.
	redactor *redact.Redactor

	browserMu  sync.Mutex
	browser    *flows.Browser
	browserErr error

	// Per spec, reset by the top-level BeforeEach. evidence holds the
	// exchanges in the order they happened: the raw requests' (taken from rec)
	// and the flows' (whose results carry their own).
	rec         *flows.Recorder
	taken       int
	evidence    []trace.Exchange
	screenshots []string
}

// clockSkew is how far apart the provider's and our notions of time may be
// before a time claim counts as wrong.
const clockSkew = 2 * time.Minute

func newEnv(ctx context.Context, target *flows.Target, issuer, screenshotDir string) *env {
	base := target.HTTPClient()
	timeout := base.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	e := &env{
		runCtx: ctx,
		target: target,
		issuer: issuer,
		// Negative checks look at the first response: a redirect is evidence,
		// never something to follow.
		raw: &http.Client{
			Transport:     base.Transport,
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		screenshotDir: screenshotDir,
		redactor:      redact.New(target.Secrets()...),
	}
	// The form driver tells the redactor each password field it fills, under
	// whatever name the provider gave it, before the login request is sent.
	target.RegisterSecretsWith(e.redactor)
	return e
}

// declare registers the suite-wide setup and every area's specs.
func (e *env) declare() {
	BeforeEach(func() {
		jar, _ := cookiejar.New(nil) // never fails without options
		e.pages = &http.Client{Transport: e.raw.Transport, Timeout: e.raw.Timeout, CheckRedirect: e.raw.CheckRedirect, Jar: jar}
		e.rec = flows.NewRecorder(flows.RecordAll)
		e.taken = 0
		e.evidence = nil
		e.screenshots = nil
	})
	AfterEach(func() {
		// A warning needs its evidence as much as a failure does.
		spec := CurrentSpecReport()
		warned := slices.ContainsFunc(spec.ReportEntries, func(r types.ReportEntry) bool { return r.Name == entryWarning })
		if !spec.Failed() && !warned {
			return
		}
		e.takeRaw()
		for _, ex := range e.evidence {
			AddReportEntry("exchange", e.redactor.Exchange(ex), ReportEntryVisibilityNever)
		}
		// The tokens decoded before redaction shortens them, so the report
		// shows what they say (alg none, a wrong aud).
		if tokens := e.redactor.DecodeJWTs(e.evidence...); len(tokens) > 0 {
			AddReportEntry("jwt", tokens, ReportEntryVisibilityNever)
		}
		for _, path := range e.screenshots {
			AddReportEntry("screenshot", path, ReportEntryVisibilityFailureOrVerbose)
		}
	})
	AfterSuite(func() {
		e.browserMu.Lock()
		defer e.browserMu.Unlock()
		if e.browser != nil {
			Expect(e.browser.Close()).To(Succeed(), "close the browser")
			e.browser = nil
		}
	})

	e.declareMetadata()
	e.declareAuthCode()
	e.declareRedirect()
	e.declareClient()
	e.declareRefresh()
	e.declareDevice()
	e.declareLegacy()
	e.declareToken()
	e.declareExpiry()
	e.declareIntrospection()
	e.declareRevocation()
	e.declareRace()
	e.declareAuthorizationSecurity()
	e.declareKeys()
}

// specTimeout bounds one check, so that a provider that never answers (a
// device request that stays pending, a page that never loads) fails the check
// instead of stalling the run. Real-time expiry waits stay under it.
const specTimeout = 3 * time.Minute

// check returns the decorations of a check: labels with its ID and its sources
// (the area label sits on the area's container), and its time limit.
func check(id string, sources ...string) []any {
	return []any{append(Labels{id}, sources...), SpecTimeout(specTimeout)}
}

// spec returns the context a spec's requests use: the spec's deadline and the
// recorder that keeps their exchanges as evidence.
func (e *env) spec(ctx context.Context) context.Context {
	return flows.WithRecorder(ctx, e.rec)
}

// keep records a flow's exchanges and screenshots as evidence of the running spec.
func (e *env) keep(res *flows.Result) {
	if res == nil {
		return
	}
	e.takeRaw()
	e.evidence = append(e.evidence, res.Exchanges...)
	e.screenshots = append(e.screenshots, res.Screenshots...)
}

// takeRaw moves the raw requests recorded since the last call into evidence.
func (e *env) takeRaw() {
	raw := e.rec.Exchanges()
	e.evidence = append(e.evidence, raw[e.taken:]...)
	e.taken = len(raw)
}

// keepErr records the screenshot a browser error carries.
func (e *env) keepErr(err error) {
	var be *flows.BrowserError
	if errors.As(err, &be) && be.Screenshot != "" {
		e.screenshots = append(e.screenshots, be.Screenshot)
	}
}

// metadata is the target's discovery document (read before the run started).
func (e *env) metadata() *flows.Metadata { return e.target.Metadata }

// client returns the profile's client of role, or skips the spec naming the
// missing profile entry.
func (e *env) client(role flows.Role) *flows.Client {
	c, err := e.target.Client(role)
	if err != nil {
		Skip(fmt.Sprintf("the target profile has no %s client (clients.%s)", role, role))
	}
	return c
}

// confidential returns the confidential client, skipping when the profile's
// client of that role has no secret.
func (e *env) confidential(role flows.Role) *flows.Client {
	c := e.client(role)
	if c.ClientSecret == "" {
		Skip(fmt.Sprintf("the target profile's %s client has no client_secret", role))
	}
	return c
}

// need skips the spec unless the profile claims the feature.
func (e *env) need(claimed bool, feature string) {
	if !claimed {
		Skip(fmt.Sprintf("the target profile does not claim %s (features.%s)", feature, feature))
	}
}

// endpoint returns a metadata endpoint, skipping when the provider does not
// advertise it.
func (e *env) endpoint(name, value string) string {
	if value == "" {
		Skip(fmt.Sprintf("the provider's metadata has no %s", name))
	}
	return value
}

// signingAlgs are the algorithms a token may be signed with: the advertised ID
// token algorithms ("none" never counts), RS256 when none are advertised (OIDC
// Discovery 3 makes it the default).
func (e *env) signingAlgs() []string {
	var algs []string
	for _, a := range e.metadata().IDTokenSigningAlgValuesSupported {
		if !strings.EqualFold(a, "none") {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	return algs
}

// jwks fetches the provider's JWK set now (it may rotate during a run).
func (e *env) jwks(ctx context.Context) *jose.JSONWebKeySet {
	uri := e.endpoint("jwks_uri", e.metadata().JWKSURI)
	r := e.get(ctx, "jwks", uri, nil)
	Expect(r.Status).To(Equal(http.StatusOK), "GET jwks_uri status")
	var set jose.JSONWebKeySet
	Expect(r.decodeJSON(&set)).To(Succeed(), "jwks_uri is a JWK set")
	return &set
}

// usesBrowserFor decides how a flow's login and consent are driven: in the
// browser when a person would be there (forceBrowser) or the target cannot be
// driven by form posts, else by HTTP form posts (fast, bundled mock).
func (e *env) consentMode(forceBrowser bool) flows.ConsentMode {
	if forceBrowser || !e.target.Features.HTTPConsent {
		return flows.ConsentBrowser
	}
	return flows.ConsentHTTP
}

// browserFor returns the run's browser when mode needs it, starting it on first
// use. A missing Chrome fails the spec and makes Run report it (exit 2).
func (e *env) browserFor(mode flows.ConsentMode) *flows.Browser {
	if mode != flows.ConsentBrowser {
		return nil
	}
	e.browserMu.Lock()
	defer e.browserMu.Unlock()
	if e.browser == nil && e.browserErr == nil {
		e.browser, e.browserErr = flows.NewBrowser(e.runCtx, flows.BrowserOptions{OutDir: e.screenshotDir, RemoteURL: e.browserURL})
	}
	Expect(e.browserErr).NotTo(HaveOccurred(), BrowserDidNotStart)
	return e.browser
}

// BrowserDidNotStart begins the failure message of a check whose browser could
// not be started or reached: the harness's failure, not the provider's (the
// mutation matrix counts such a run as broken, not as a defect caught).
const BrowserDidNotStart = "the harness could not start headless Chromium"

// chromeMissing returns the error of a browser that could not start because no
// Chrome was found, nil otherwise.
func (e *env) chromeMissing() error {
	e.browserMu.Lock()
	defer e.browserMu.Unlock()
	var missing *flows.ChromeMissingError
	if errors.As(e.browserErr, &missing) {
		return e.browserErr
	}
	return nil
}

// admin returns the admin API client of the bundled mock.
func (e *env) admin() *flows.AdminClient {
	a, err := e.target.AdminClient()
	Expect(err).NotTo(HaveOccurred(), "the profile claims admin_clock but has no usable admin section")
	return a
}

// passTime makes lifetime, the profile's clock_skew and a margin pass at the
// provider, so that what was issued with that lifetime has expired: the provider's clock moves through
// the admin API when the profile claims admin_clock; with short_lifetimes and a
// known lifetime of at most maxRealWait the spec waits for real; otherwise the
// spec is skipped with the reason.
func (e *env) passTime(ctx context.Context, lifetime time.Duration, what string) {
	const (
		maxRealWait = 2 * time.Minute
		// A moved clock costs nothing, so its margin covers any rounding.
		clockMargin = time.Minute
		// A real wait pays for its margin: enough for whole-second rounding.
		realMargin = 2 * time.Second
	)
	// The provider may serve what expired for its stated tolerance
	// (lifetimes.clock_skew): the wait covers it, and what is still served
	// after it fails.
	skew := e.target.Lifetimes.ClockSkew
	switch {
	case e.target.Features.AdminClock && lifetime > 0:
		Expect(e.admin().AdvanceClock(ctx, lifetime+skew+clockMargin)).To(Succeed(), "advance the provider clock through the admin API")
	case e.target.Features.ShortLifetimes && lifetime > 0 && lifetime+skew <= maxRealWait:
		select {
		case <-time.After(lifetime + skew + realMargin):
		case <-ctx.Done():
			Fail("the spec ended while waiting for " + what + " to expire")
		}
	default:
		Skip(fmt.Sprintf("waiting out %s (%s, clock_skew %s) needs features.admin_clock, or features.short_lifetimes with a lifetime plus clock_skew of at most %s", what, describeLifetime(lifetime), skew, maxRealWait))
	}
}

func describeLifetime(d time.Duration) string {
	if d <= 0 {
		return "lifetime unknown: set it under lifetimes"
	}
	return d.String()
}

// entryWarning names the report entry of a warning, as the reports package
// reads it (reports.EntryWarning; the suites do not import reports).
const entryWarning = "warning"

// warn records a SHOULD of the catalogue that the provider does not meet: the
// spec passes with the verdict warning, or fails under Options.Strict.
func (e *env) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.strict {
		Fail(msg+"\n(a warning; failed because of --strict)", 1)
	}
	AddReportEntry(entryWarning, msg, ReportEntryVisibilityAlways, Offset(1))
}

// skipf skips the spec with a formatted reason.
func (e *env) skipf(format string, args ...any) { Skip(fmt.Sprintf(format, args...)) }

// providerNow is the provider's current time: its admin clock when the profile
// claims one (the clock moves ahead of ours during a run), else ours.
func (e *env) providerNow(ctx context.Context) time.Time {
	if !e.target.Features.AdminClock {
		return time.Now()
	}
	now, err := e.admin().Now(ctx)
	Expect(err).NotTo(HaveOccurred(), "read the provider clock through the admin API")
	return now
}
