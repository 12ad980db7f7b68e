package rp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/html"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/rpapp"
	"github.com/grantbench/grantbench/trace"
)

// env is what the specs of one run share. Ginkgo runs them one at a time, so
// the per-spec fields need no lock.
type env struct {
	runCtx   context.Context
	profile  *rpapp.Profile
	rendered *rpapp.Rendered
	strict   bool
	app      *rpapp.App
	mock     *mockprovider.Provider
	metadata *flows.Metadata
	provider *url.URL
	user     flows.User
	clientID string
	browser  *flows.Browser
	// tab is the one tab of the run, in a browser context of its own, reset
	// (cookies dropped) before every login: a new browser context per login
	// costs Chromium a second or more, longer than the login itself.
	tab *flows.AppTab
	// raw fetches the logged_in page with the browser's cookies.
	raw           *http.Client
	screenshotDir string
	redactor      *redact.Redactor

	// stopReason, once set (P0 failed, the app died), skips every later check.
	stopReason string

	// Per spec, reset by BeforeEach: the logins' evidence.
	logins []*login
}

// loginTimeout bounds one login: longer means the app hangs.
const loginTimeout = 15 * time.Second

// specTimeout bounds one check (P17 makes four logins, one of which waits
// for the app's own token timeout).
const specTimeout = 2 * time.Minute

// Report entry names, as the reports package reads them (reports/doc.go).
const (
	entryExchange   = "exchange"
	entryScreenshot = "screenshot"
	entryWarning    = "warning"
)

// sourceKeys are the source labels of each check, as CHECKS.md cites them
// (the package test compares them with the catalogue).
var sourceKeys = map[string][]string{
	"P0": {"oidf"}, "P1": {"oidf", "oidc"}, "P2": {"oidf", "oidc"}, "P3": {"oidf", "oidc"}, "P4": {"oidf"},
	"P5": {"oidf"}, "P6": {"oidc"}, "P7": {"oidf", "oidc"}, "P8": {"oidf", "oidc"}, "P9": {"oidf"},
	"P10": {"oidf"}, "P11": {"oidf"}, "P12": {"oidf", "oidc"}, "P13": {"rfc6749", "rfc9700"},
	"P14": {"rfc9207", "rfc9700"}, "P15": {"rfc9700", "rfc7636"}, "P16": {"rfc6749"}, "P17": {"rfc6749", "oidc"},
	"P18": {"oidc", "rfc6749"}, "P19": {"rfc6265", "rfc9700"},
}

// check returns the decorations of the check id: labels with its ID, `rp`
// and its sources' keys, and its time limit.
func check(id string) []any {
	return []any{append(Labels{id, "rp"}, sourceKeys[id]...), SpecTimeout(specTimeout)}
}

// login is one login attempt through the app and what came of it.
type login struct {
	what     string // "a normal login", "an ID token whose iss is another issuer", ...
	stimuli  []mockprovider.RPStimulus
	tab      *flows.AppTab
	end      *flows.AppPage // the page the flow ended on (nil on err)
	endShot  []byte         // its screenshot, taken when needed as evidence
	err      error          // the driver's: a timeout means the app hung
	loggedIn bool
	judged   *flows.AppPage // the logged_in page
	obs      mockprovider.RPObservations
}

// declare registers the shared setup and the checks.
func (e *env) declare() {
	AfterSuite(func() {
		if e.tab != nil {
			e.tab.Close()
			e.tab = nil
		}
	})
	BeforeEach(func() {
		e.logins = nil
		if e.stopReason != "" {
			Skip("not run: " + e.stopReason)
		}
		if err := e.app.Died(); err != nil {
			e.stopReason = err.Error()
			Fail(err.Error())
		}
	})
	AfterEach(func() {
		spec := CurrentSpecReport()
		warned := false
		for _, entry := range spec.ReportEntries {
			warned = warned || entry.Name == entryWarning
		}
		if spec.Failed() || warned {
			e.attachEvidence(spec.LeafNodeText)
		}
		e.logins = nil
		// A stimulus must never outlive its check.
		Expect(e.mock.SetRPStimuli(e.clientID)).To(Succeed())
	})
	// Ordered keeps P0 first (it gates the rest); ContinueOnFailure keeps
	// one failed check from skipping the others.
	Describe("rp", Label("rp"), Ordered, ContinueOnFailure, func() {
		e.declareChecks()
	})
}

// attachEvidence attaches each login's exchanges at the mock and the
// screenshot of the page the app showed at the last login (a check fails at
// the login that let the user in, so that is the one on screen).
func (e *env) attachEvidence(specText string) {
	id, _, _ := strings.Cut(specText, ":")
	for i, l := range e.logins {
		AddReportEntry(entryExchange, e.exchanges(l), ReportEntryVisibilityNever)
		if i == len(e.logins)-1 && len(l.endShot) == 0 && l.tab != nil {
			l.endShot, _ = l.tab.Screenshot()
		}
		if len(l.endShot) == 0 {
			continue
		}
		f, err := os.CreateTemp(e.screenshotDir, fmt.Sprintf("%s-login%d-*.png", id, i+1))
		if err != nil {
			continue
		}
		_, werr := f.Write(l.endShot)
		if f.Close() == nil && werr == nil {
			AddReportEntry(entryScreenshot, f.Name(), ReportEntryVisibilityFailureOrVerbose)
		}
	}
}

// exchanges renders a login's observations at the mock as exchanges,
// redacted (codes, states and secrets shortened).
func (e *env) exchanges(l *login) []trace.Exchange {
	var out []trace.Exchange
	for _, a := range l.obs.AuthorizationRequests {
		out = append(out, e.redactor.Exchange(trace.Exchange{Step: "authorize (" + l.what + ")", Method: http.MethodGet,
			URL: e.metadata.AuthorizationEndpoint + "?" + a.Query.Encode()}))
	}
	for _, c := range l.obs.Callbacks {
		out = append(out, e.redactor.Exchange(trace.Exchange{Step: "authorization response", Status: http.StatusFound,
			ResponseHeader: http.Header{"Location": {c.URL}}}))
	}
	for _, t := range l.obs.TokenRequests {
		body := "grant_type=" + t.GrantType + fmt.Sprintf(" (client auth %s, code_verifier sent: %v)", t.AuthMethod, t.CodeVerifierSent)
		resp := ""
		if t.ErrorCode != "" {
			resp = `{"error":"` + t.ErrorCode + `"}`
		}
		out = append(out, e.redactor.Exchange(trace.Exchange{Step: "token", Method: http.MethodPost, URL: e.metadata.TokenEndpoint,
			RequestBody: body, Status: t.Status, ResponseBody: resp}))
	}
	if l.obs.UserinfoCalls > 0 {
		out = append(out, trace.Exchange{Step: fmt.Sprintf("userinfo (%d call(s))", l.obs.UserinfoCalls), Method: http.MethodGet, URL: e.metadata.UserinfoEndpoint})
	}
	if l.err != nil {
		out = append(out, trace.Exchange{Step: "browser", Err: e.redactor.String(l.err.Error())})
	}
	return out
}

// loginWith sets the stimuli at the mock, drives the app's login in a fresh
// browser context and judges by the logged_in signal whether the user got in.
func (e *env) loginWith(ctx context.Context, what string, stimuli ...mockprovider.RPStimulus) *login {
	l := &login{what: what, stimuli: stimuli}
	e.logins = append(e.logins, l)
	e.mock.ResetRPObservations(e.clientID)
	Expect(e.mock.SetRPStimuli(e.clientID, stimuli...)).To(Succeed(), "set the stimuli %v at the mock", stimuli)
	defer func() { l.obs = e.mock.RPObservations(e.clientID) }()
	tab := e.freshTab(ctx)
	l.tab = tab
	l.end, l.err = tab.Login(ctx, flows.AppLogin{Start: e.rendered.BaseURL + e.profile.Login, Provider: e.provider,
		User: e.user, Timeout: loginTimeout})
	if l.err != nil {
		if !errors.Is(l.err, flows.ErrAppTimeout) {
			Expect(e.app.Died()).To(Succeed(), "the application died during the login")
		}
		return l
	}
	e.judge(ctx, l)
	return l
}

// freshTab returns the run's tab reset for a new user (no cookie of any
// earlier login).
func (e *env) freshTab(ctx context.Context) *flows.AppTab {
	if e.tab == nil {
		tab, err := e.browser.NewAppTab(e.runCtx)
		Expect(err).NotTo(HaveOccurred(), "open a browser tab")
		e.tab = tab
	}
	Expect(e.tab.Reset(ctx)).To(Succeed(), "reset the browser tab (drop its cookies)")
	return e.tab
}

// judge decides from the profile's logged_in signal whether l got in. A text
// signal on a path is looked for in that page fetched with the browser's
// cookies, which leaves the tab on the page the app showed (the evidence);
// a selector needs the browser's DOM, so the tab opens the path.
func (e *env) judge(ctx context.Context, l *login) {
	page := l.end
	li := e.profile.LoggedIn
	if li.Path != "" && li.Selector == "" {
		text, err := e.fetchText(ctx, l.tab, e.rendered.BaseURL+li.Path)
		if err != nil {
			l.err = fmt.Errorf("opening %s after the login: %w", li.Path, err)
			return
		}
		l.judged = &flows.AppPage{URL: e.rendered.BaseURL + li.Path, Text: text}
		l.loggedIn = strings.Contains(text, li.Text)
		return
	}
	if p := e.profile.LoggedIn.Path; p != "" {
		l.endShot, _ = l.tab.Screenshot()
		var err error
		page, err = l.tab.Open(ctx, e.rendered.BaseURL+p, loginTimeout)
		if err != nil {
			l.err = fmt.Errorf("opening %s after the login: %w", p, err)
			return
		}
	}
	l.judged = page
	if t := e.profile.LoggedIn.Text; t != "" && !strings.Contains(page.Text, t) {
		return
	}
	if s := e.profile.LoggedIn.Selector; s != "" {
		found, err := l.tab.Has(s)
		if err != nil || !found {
			return
		}
	}
	l.loggedIn = true
}

// fetchText GETs u with the cookies tab holds for it and returns the page's
// text (markup removed, so a signal split by tags is still found).
func (e *env) fetchText(ctx context.Context, tab *flows.AppTab, u string) (string, error) {
	cookies, err := tab.Cookies(u)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := e.raw.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	doc, err := html.Parse(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// signal describes the profile's logged_in signal for messages.
func (e *env) signal() string {
	li := e.profile.LoggedIn
	var parts []string
	if li.Text != "" {
		parts = append(parts, fmt.Sprintf("text %q", li.Text))
	}
	if li.Selector != "" {
		parts = append(parts, fmt.Sprintf("selector %q", li.Selector))
	}
	where := "the page the login ended on"
	if li.Path != "" {
		where = li.Path
	}
	return strings.Join(parts, " and ") + " on " + where
}

// describeEnd says where a login ended, for messages.
func (l *login) describeEnd() string {
	switch {
	case l.err != nil:
		return "the login did not finish: " + l.err.Error()
	case l.end == nil:
		return "no page"
	}
	s := fmt.Sprintf("the login ended on %s", l.end.URL)
	if l.end.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", l.end.Status)
	}
	return s
}

// mustRefuse fails the spec when l got in: the app accepted what it was sent.
func (e *env) mustRefuse(l *login, sent, should string) {
	if !l.loggedIn {
		return
	}
	Fail(fmt.Sprintf("sent: %s.\nthe app: logged the user in (%s found; %s).\nit should: %s.", sent, e.signal(), l.describeEnd(), should))
}

// mustLogIn fails the spec when l did not get in.
func (e *env) mustLogIn(l *login, sent, should string) {
	if l.loggedIn {
		return
	}
	Fail(fmt.Sprintf("sent: %s.\nthe app: did not log the user in (%s not found; %s).\nit should: %s.\n%s", sent, e.signal(), l.describeEnd(), should, e.logTail()))
}

// warn records a warning, or with --strict fails the spec.
func (e *env) warn(msg string) {
	if e.strict {
		Fail(msg + "\n(a warning; failed because of --strict)")
	}
	AddReportEntry(entryWarning, msg, ReportEntryVisibilityAlways)
}

func (e *env) logTail() string {
	if t := e.app.LogTail(); t != "" {
		return "--- the app's log, last lines ---\n" + t
	}
	return ""
}
