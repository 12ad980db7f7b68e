package flows

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/trace"
)

// newTestBrowser starts Chromium, or skips when there is none and CI is unset;
// under CI a missing browser fails the test.
func newTestBrowser(t testing.TB) *Browser {
	t.Helper()
	return newTestBrowserWith(t, BrowserOptions{OutDir: t.TempDir(), MaxTabs: 2})
}

func newTestBrowserWith(t testing.TB, opts BrowserOptions) *Browser {
	t.Helper()
	if _, err := FindChrome(); err != nil {
		var cm *ChromeMissingError
		if errors.As(err, &cm) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := NewBrowser(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestBrowserFlows drives the bundled mock's pages in one headless Chromium:
// login and consent, an already-logged-in second flow, the implicit fragment
// response, device verification, and a failing step's screenshot.
func TestBrowserFlows(t *testing.T) {
	// The mock before the browser, so that it closes after it (see
	// TestConnectedBrowsers).
	tg := startMock(t)
	b := newTestBrowser(t)
	t.Run("mock", func(t *testing.T) { mockBrowserFlows(t, b, tg) })
	t.Run("zitadel", func(t *testing.T) { zitadelBrowserFlows(t, b) })
}

func mockBrowserFlows(t *testing.T, b *Browser, tg *Target) {
	ctx := context.Background()

	res, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b})
	if err != nil {
		t.Fatalf("auth code in the browser: %v (screenshots %v)", err, res.Screenshots)
	}
	if got := stepNames(res.Trace); !slices.Equal(got, []string{"authorize", "login", "consent", "token"}) {
		t.Errorf("steps = %v", got)
	}
	if res.Trace[0].Status != 200 {
		t.Errorf("authorize step status = %d, want the page load's 200", res.Trace[0].Status)
	}
	if res.Consent != ConsentBrowser || res.Token.AccessToken == "" || res.IDTokenClaims["nonce"] != res.Authorization.Nonce {
		t.Errorf("result: consent %q, claims %v", res.Consent, res.IDTokenClaims)
	}

	// The flow's tab waits in the pool, and the next flow takes it.
	if len(b.idle) != 1 {
		t.Fatalf("%d idle tabs after one flow, want its tab back in the pool", len(b.idle))
	}
	pooled := <-b.idle
	b.idle <- pooled

	// The browser keeps the session: no login page the second time.
	again, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b, Role: RolePublic})
	if err != nil {
		t.Fatalf("second flow: %v", err)
	}
	if len(b.idle) != 1 || <-b.idle != pooled {
		t.Fatal("the second flow did not reuse the pooled tab")
	}
	b.idle <- pooled
	if got := stepNames(again.Trace); slices.Contains(got, "login") {
		t.Errorf("already logged in, yet steps = %v", got)
	}

	// A fresh browser session shows the login page again.
	fresh, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b, FreshBrowserSession: true})
	if err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	if got := stepNames(fresh.Trace); !slices.Contains(got, "login") {
		t.Errorf("fresh browser session, yet steps = %v", got)
	}

	imp, err := Implicit(ctx, tg, ImplicitOptions{Browser: b})
	if err != nil {
		t.Fatalf("implicit in the browser: %v", err)
	}
	if !imp.Authorization.ResponseInFragment || imp.Token.AccessToken == "" {
		t.Errorf("implicit: fragment %v", imp.Authorization.ResponseInFragment)
	}

	dev, err := DeviceCode(ctx, tg, DeviceOptions{Browser: b})
	if err != nil {
		t.Fatalf("device in the browser: %v", err)
	}
	if dev.Token.AccessToken == "" || !slices.Contains(stepNames(dev.Trace), "device_verify") {
		t.Errorf("device steps = %v", stepNames(dev.Trace))
	}

	t.Logf("durations: code flow %v, logged-in code flow %v, implicit %v, device %v; code flow steps %v", res.Duration(), again.Duration(), imp.Duration(), dev.Duration(), stepDurations(res.Trace))
	// Denying in the browser: the error response reaches the listener.
	denied, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b, Deny: true})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" || oe.Params.Get("state") != denied.Authorization.State {
		t.Errorf("deny in the browser: %v", err)
	}

	// An error redirect before any page: the listener's 204 aborts the
	// navigation, and the flow still takes the response it delivered.
	unknown, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b, Params: url.Values{"response_type": {"grantbench_unknown"}}})
	if !errors.As(err, &oe) || oe.Code != "unsupported_response_type" || oe.Params.Get("state") != unknown.Authorization.State {
		t.Errorf("error redirect at once in the browser: %v", err)
	} else if got := stepNames(unknown.Trace); !slices.Equal(got, []string{"authorize"}) || unknown.Trace[0].Err != "" {
		t.Errorf("error redirect at once: steps %v, first step error %q; want one authorize step without error", got, unknown.Trace[0].Err)
	}

	// An unregistered redirect URI: the error page, caught from the status.
	_, err = AuthCode(ctx, tg, AuthCodeOptions{Browser: b, Params: url.Values{"redirect_uri": {"http://127.0.0.1:1/elsewhere"}}})
	if !errors.As(err, &oe) || !oe.ErrorPage || oe.Status != 400 || oe.Code == "" {
		t.Errorf("unregistered redirect URI in the browser: %v", err)
	}

	// Parallel flows share the tab pool (MaxTabs 2 here): all finish.
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b, Record: RecordTrace})
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("parallel flow: %v", err)
		}
	}

	// A wrong password in a fresh session: the login page comes back.
	tg.User.Password = "wrong"
	_, err = AuthCode(ctx, tg, AuthCodeOptions{Browser: b, FreshBrowserSession: true})
	var refused *BrowserError
	if !errors.As(err, &refused) || refused.Step != "login" || !strings.Contains(refused.Error(), "login refused") {
		t.Errorf("wrong password in the browser: %v", err)
	}

	// A selector that never appears: the step fails with a screenshot.
	tg.Browser.Consent.Approve = "#no-such-button"
	tg.Timeouts.Page = time.Second
	res, err = AuthCode(ctx, tg, AuthCodeOptions{Browser: b})
	var be *BrowserError
	if !errors.As(err, &be) || be.Screenshot == "" {
		t.Fatalf("error = %v, want a *BrowserError with a screenshot", err)
	}
	if info, serr := os.Stat(be.Screenshot); serr != nil || info.Size() == 0 || filepath.Ext(be.Screenshot) != ".png" {
		t.Errorf("screenshot %q: %v", be.Screenshot, serr)
	}
	if !slices.Contains(res.Screenshots, be.Screenshot) {
		t.Errorf("result screenshots %v lack %q", res.Screenshots, be.Screenshot)
	}
}

func TestFindChromeMissing(t *testing.T) {
	t.Setenv("CHROME_PATH", filepath.Join(t.TempDir(), "no-chrome"))
	_, err := FindChrome()
	var cm *ChromeMissingError
	if !errors.As(err, &cm) {
		t.Fatalf("error = %v, want *ChromeMissingError", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y chromium") || !strings.Contains(err.Error(), "CHROME_PATH") {
		t.Errorf("message %q does not say how to install", err)
	}
}

func stepDurations(steps []trace.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name+"="+s.Duration().String())
	}
	return out
}

// TestConnectedBrowsers shares one Chromium between two connected Browsers, as
// the mutation matrix shares one between its conform processes: each gets a
// browser context of its own (a login in one is not a session in the other),
// and closing one leaves the browser serving the other.
func TestConnectedBrowsers(t *testing.T) {
	// The mock first, so that it closes after the browsers: its graceful
	// shutdown waits up to 5 s for the sockets Chromium opens ahead of use.
	tg := startMock(t)
	if d := newTestBrowser(t).DevToolsURL(); d != "" {
		t.Errorf("a browser started without Shareable has DevToolsURL %q", d)
	}
	owner := newTestBrowserWith(t, BrowserOptions{Shareable: true, MaxTabs: 2})
	devtools := owner.DevToolsURL()
	if !strings.HasPrefix(devtools, "ws://127.0.0.1:") || !strings.Contains(devtools, "/devtools/browser/") {
		t.Fatalf("DevToolsURL = %q", devtools)
	}
	connect := func() *Browser {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := NewBrowser(ctx, BrowserOptions{RemoteURL: devtools, MaxTabs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if b.DevToolsURL() != "" {
			t.Errorf("a connected browser reports DevToolsURL %q", b.DevToolsURL())
		}
		return b
	}
	first, second := connect(), connect()
	ctx := context.Background()
	if res, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: first}); err != nil || !slices.Contains(stepNames(res.Trace), "login") {
		t.Fatalf("first browser's code flow: %v", err)
	}
	res, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: second})
	if err != nil {
		t.Fatalf("second browser's code flow: %v", err)
	}
	if !slices.Contains(stepNames(res.Trace), "login") {
		t.Errorf("the second connected browser found the first one's session: steps %v", stepNames(res.Trace))
	}
	if err := first.Close(); err != nil {
		t.Errorf("closing a connected browser: %v", err)
	}
	if _, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: second}); err != nil {
		t.Errorf("after the other connected browser closed: %v", err)
	}
	second.Close()
	// The browser itself still runs for its owner.
	if _, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: owner}); err != nil {
		t.Errorf("the owner's browser after both connected ones closed: %v", err)
	}

	ctx2, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := NewBrowser(ctx2, BrowserOptions{RemoteURL: "ws://127.0.0.1:1/devtools/browser/none"}); err == nil {
		t.Error("connected to a browser that is not there")
	}
}
