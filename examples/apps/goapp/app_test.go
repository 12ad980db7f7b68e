package goapp

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/mockprovider"
)

const (
	testClientID     = "goapp-test"
	testClientSecret = "goapp-test-secret"
)

// fixture is the mock provider and the app, both on httptest (127.0.0.1).
type fixture struct {
	mock    *mockprovider.Provider
	mockSrv *httptest.Server
	app     *Server
	appSrv  *httptest.Server
}

// newFixture starts the mock with the app's client registered, then the app
// with the given bugs. mockDefects are switched on for the app's client.
func newFixture(t *testing.T, bugs BugSet, mockDefects ...string) *fixture {
	t.Helper()
	return newWrappedFixture(t, bugs, nil, mockDefects...)
}

// newWrappedFixture is newFixture with the mock behind wrap (nil: none), for
// answers the mock cannot give by itself yet.
func newWrappedFixture(t *testing.T, bugs BugSet, wrap func(http.Handler) http.Handler, mockDefects ...string) *fixture {
	t.Helper()
	return startFixture(t, fixtureOptions{bugs: bugs, wrap: wrap, defects: mockDefects})
}

type fixtureOptions struct {
	bugs    BugSet
	wrap    func(http.Handler) http.Handler
	defects []string
	public  bool // register the app as a public client (auth method none)
	// tokenTimeout is the app's (DefaultTokenTimeout when zero).
	tokenTimeout time.Duration
}

func startFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	bugs, wrap, mockDefects := o.bugs, o.wrap, o.defects
	secret := testClientSecret
	if o.public {
		secret = ""
	}
	mockSrv := httptest.NewUnstartedServer(nil)
	appSrv := httptest.NewUnstartedServer(nil)
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "http://" + mockSrv.Listener.Addr().String()
	redirect := "http://" + appSrv.Listener.Addr().String() + "/callback"
	cfg.Clients = append(cfg.Clients, mockprovider.Client{
		ID:           testClientID,
		Secret:       secret,
		Public:       o.public,
		Name:         "goapp test client",
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{redirect},
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	signingKey, _ := testKeys(t) // shared: generating a key per mock is most of a test's time
	mock, err := mockprovider.New(cfg, mockprovider.WithSigningKey(signingKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(mockDefects) > 0 {
		if err := mock.SetDefects(mockprovider.DefectSettings{Clients: map[string][]string{testClientID: mockDefects}}); err != nil {
			t.Fatal(err)
		}
	}
	mockSrv.Config.Handler = mock
	if wrap != nil {
		mockSrv.Config.Handler = wrap(mock)
	}
	mockSrv.Start()
	t.Cleanup(mockSrv.Close)
	tokenTimeout := o.tokenTimeout
	if tokenTimeout == 0 {
		tokenTimeout = DefaultTokenTimeout
	}
	app, err := New(Config{
		Issuer:       cfg.Issuer,
		ClientID:     testClientID,
		ClientSecret: secret,
		RedirectURI:  redirect,
		Bugs:         bugs,
		TokenTimeout: tokenTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	appSrv.Config.Handler = app
	appSrv.Start()
	t.Cleanup(appSrv.Close)
	return &fixture{mock: mock, mockSrv: mockSrv, app: app, appSrv: appSrv}
}

// browser is a cookie jar that follows redirects, as a browser would.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(req *http.Request) (status int, finalURL *url.URL, body string) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, resp.Request.URL, string(data)
}

func (b *browser) get(u string) (int, *url.URL, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (int, *url.URL, string) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(csrf_token|interaction)" value="([^"]*)">`)

// hidden returns the mock page's csrf_token and interaction fields.
func hidden(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	if v.Get("csrf_token") == "" || v.Get("interaction") == "" {
		t.Fatalf("no csrf_token/interaction on the page: %.300s", body)
	}
	return v
}

// login drives /login through the mock's login and consent pages as alice
// and returns where the flow ended (status, URL, body).
func (f *fixture) login(t *testing.T, b *browser) (int, *url.URL, string) {
	t.Helper()
	status, at, body := b.get(f.appSrv.URL + "/login")
	if at.Host == f.mockSrv.Listener.Addr().String() && strings.Contains(body, `id="login-form"`) {
		form := hidden(t, body)
		form.Set("username", "alice")
		form.Set("password", "wonderland")
		status, at, body = b.post(f.mockSrv.URL+"/login", form)
	}
	if at.Host == f.mockSrv.Listener.Addr().String() && strings.Contains(body, `id="consent-form"`) {
		form := hidden(t, body)
		form.Set("decision", "approve")
		status, at, body = b.post(f.mockSrv.URL+"/consent", form)
	}
	stopped := status >= 300 && status < 400 // the caller's CheckRedirect held the callback back
	if at.Host != f.appSrv.Listener.Addr().String() && !stopped {
		t.Fatalf("the flow ended at the provider (%d %s): %.300s", status, at.Path, body)
	}
	return status, at, body
}

// loggedIn reports whether /me says alice is logged in, failing on a
// contradiction between its status and its text.
func (f *fixture) loggedIn(t *testing.T, b *browser) bool {
	t.Helper()
	status, _, body := b.get(f.appSrv.URL + "/me")
	in := strings.Contains(body, "logged in as alice")
	if in != (status == http.StatusOK) {
		t.Fatalf("/me answered %d with %q", status, body)
	}
	return in
}

func TestCleanAppLogsAliceIn(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t)
	if f.loggedIn(t, b) {
		t.Fatal("logged in before logging in")
	}
	status, at, body := f.login(t, b)
	if status != http.StatusOK || at.Path != "/me" || !strings.Contains(body, "logged in as alice") {
		t.Fatalf("the login ended at %s with %d: %q", at.Path, status, body)
	}
	if !f.loggedIn(t, b) {
		t.Fatal("/me does not say alice after the login")
	}
	// A second browser is not logged in.
	if f.loggedIn(t, newBrowser(t)) {
		t.Fatal("a fresh browser is logged in")
	}
}

func TestPublicClientLogsAliceIn(t *testing.T) {
	f := startFixture(t, fixtureOptions{public: true})
	if f.app.cfg.AuthMethod != AuthNone {
		t.Fatalf("auth method %q", f.app.cfg.AuthMethod)
	}
	b := newBrowser(t)
	f.login(t, b)
	if !f.loggedIn(t, b) {
		t.Fatal("the public client did not log alice in")
	}
}

// TestRefusalsAndTheirBugs: for each provider defect the mock can produce
// today, the clean app refuses and the app with the matching bug lets alice in.
func TestRefusalsAndTheirBugs(t *testing.T) {
	cases := []struct {
		defect string
		bug    Bug
	}{
		{"wrong_iss", BugSkipIss},
		{"wrong_aud", BugSkipAud},
		{"bad_signature", BugSkipSignature},
		{"alg_none", BugAcceptAlgNone},
		{"nonce_dropped", BugSkipNonce},
		{"state_dropped", BugSkipState},
		{"wrong_response_iss", BugSkipResponseIss},
	}
	for _, c := range cases {
		t.Run(c.defect, func(t *testing.T) {
			clean := newFixture(t, nil, c.defect)
			b := newBrowser(t)
			_, at, body := clean.login(t, b)
			if strings.Contains(body, "alice") {
				t.Fatalf("the clean app's page at %s names alice: %q", at.Path, body)
			}
			if !strings.Contains(body, "login refused") {
				t.Fatalf("the clean app shows no refusal at %s: %q", at.Path, body)
			}
			if clean.loggedIn(t, b) {
				t.Fatalf("the clean app logged alice in despite %s", c.defect)
			}
			buggy := newFixture(t, BugSet{c.bug: true}, c.defect)
			b = newBrowser(t)
			buggy.login(t, b)
			if !buggy.loggedIn(t, b) {
				t.Fatalf("the app with %s did not log alice in under %s", c.bug, c.defect)
			}
		})
	}
}

func TestStateAndVerifierAreSingleUse(t *testing.T) {
	// Clean, and with every other bug: a replayed callback gets no session.
	for _, bugs := range []BugSet{nil, allBugsBut(BugReplayableCallback)} {
		f := newFixture(t, bugs)
		// The mock lets codes be redeemed again (P16's stimulus): only the app's defence counts.
		if err := f.mock.SetRPStimuli(testClientID, mockprovider.RPCodeReusable); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		// Stop at the callback to replay it.
		var callback string
		b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/callback" && req.URL.Host == f.appSrv.Listener.Addr().String() && callback == "" {
				callback = req.URL.String()
			}
			return nil
		}
		f.login(t, b)
		if !f.loggedIn(t, b) || callback == "" {
			t.Fatalf("bugs %q: the first login did not succeed", bugs)
		}
		// The same callback in a fresh browser, and again in the same one.
		for _, who := range []*browser{newBrowser(t), b} {
			status, _, body := who.get(callback)
			if status >= 500 || strings.Contains(body, "alice") {
				t.Fatalf("bugs %q: a replayed callback answered %d: %q", bugs, status, body)
			}
		}
		fresh := newBrowser(t)
		fresh.get(callback)
		if f.loggedIn(t, fresh) {
			t.Fatalf("bugs %q: a replayed callback logged a fresh browser in", bugs)
		}
	}

	// With replayable_callback the replay logs in.
	f := newFixture(t, BugSet{BugReplayableCallback: true})
	if err := f.mock.SetRPStimuli(testClientID, mockprovider.RPCodeReusable); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	callback := ""
	b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/callback" && callback == "" {
			callback = req.URL.String()
		}
		return nil
	}
	f.login(t, b)
	fresh := newBrowser(t)
	fresh.get(callback)
	if !f.loggedIn(t, fresh) {
		t.Fatal("replayable_callback: the replayed callback did not log in")
	}
}

func TestLoginRequestAndCookies(t *testing.T) {
	observed := BugSet{BugNoPKCE: true, BugFixedState: true, BugWeakCookie: true}
	allOthers := BugSet{} // every bug that must not change what P15 and P19 observe
	for _, b := range Bugs() {
		if !observed[b.Name] {
			allOthers[b.Name] = true
		}
	}
	for _, bugs := range []BugSet{nil, observed, allOthers} {
		f := newFixture(t, bugs)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var states []string
		for range 2 {
			resp, err := noFollow.Get(f.appSrv.URL + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusFound {
				t.Fatalf("/login answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			q := loc.Query()
			if q.Get("response_type") != "code" || q.Get("nonce") == "" || q.Get("client_id") != testClientID {
				t.Fatalf("authorization request %v", q)
			}
			if bugs.Has(BugNoPKCE) != (q.Get("code_challenge") == "") {
				t.Fatalf("bugs %q: code_challenge %q", bugs, q.Get("code_challenge"))
			}
			if !bugs.Has(BugNoPKCE) && q.Get("code_challenge_method") != "S256" {
				t.Fatalf("code_challenge_method %q", q.Get("code_challenge_method"))
			}
			states = append(states, q.Get("state"))
		}
		if bugs.Has(BugFixedState) != (states[0] == states[1]) || len(states[0]) < 22 && !bugs.Has(BugFixedState) {
			t.Fatalf("bugs %q: states %q", bugs, states)
		}

		// The session cookie the callback sets.
		b := newBrowser(t)
		var sessionCookieSeen *http.Cookie
		b.client.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err == nil {
				for _, c := range resp.Cookies() {
					if c.Name == sessionCookie {
						sessionCookieSeen = c
					}
				}
			}
			return resp, err
		})
		f.login(t, b)
		if sessionCookieSeen == nil {
			t.Fatal("no session cookie set")
		}
		weak := bugs.Has(BugWeakCookie)
		if sessionCookieSeen.HttpOnly == weak || (sessionCookieSeen.SameSite == http.SameSiteLaxMode) == weak {
			t.Fatalf("bugs %q: session cookie HttpOnly=%v SameSite=%v", bugs, sessionCookieSeen.HttpOnly, sessionCookieSeen.SameSite)
		}
		if !f.loggedIn(t, b) {
			t.Fatalf("bugs %q: not logged in", bugs)
		}
	}
}

// allBugsBut returns every bug switch except the given ones.
func allBugsBut(except ...Bug) BugSet {
	set := BugSet{}
	for _, b := range Bugs() {
		set[b.Name] = true
	}
	for _, b := range except {
		delete(set, b)
	}
	return set
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTokenEndpointDown: a token endpoint that cannot be reached gives an
// error page, never a 5xx; crash_on_token_error answers 500.
func TestTokenEndpointDown(t *testing.T) {
	for _, crash := range []bool{false, true} {
		f := newFixture(t, BugSet{BugCrashOnTokenError: crash})
		b := newBrowser(t)
		// Discovery happens at /login; then the provider goes away before the callback.
		var callback string
		b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/callback" {
				callback = req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}
		f.login(t, b)
		if callback == "" {
			t.Fatal("the flow did not reach the callback")
		}
		f.mockSrv.CloseClientConnections()
		f.mockSrv.Listener.Close()
		b.client.CheckRedirect = nil
		status, _, body := b.get(callback)
		if crash != (status == http.StatusInternalServerError) || (!crash && status >= 500) {
			t.Fatalf("crash_on_token_error=%v: the callback answered %d: %q", crash, status, body)
		}
		if strings.Contains(body, "alice") || f.loggedIn(t, b) {
			t.Fatal("logged in without a token")
		}
	}
}

func TestTokenTimeout(t *testing.T) {
	// A token endpoint that never answers: the app gives up after its timeout.
	stall := make(chan struct{})
	defer close(stall)
	f := newFixture(t, nil)
	inner := f.mockSrv.Config.Handler
	f.mockSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			select {
			case <-stall:
			case <-r.Context().Done():
			}
			return
		}
		inner.ServeHTTP(w, r)
	})
	f.app.cfg.TokenTimeout = 300 * time.Millisecond
	b := newBrowser(t)
	start := time.Now()
	status, _, body := f.login(t, b)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the login took %v", took)
	}
	if status >= 500 || !strings.Contains(body, "no answer within") {
		t.Fatalf("the callback answered %d: %q", status, body)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"ISSUER": "http://127.0.0.1:9000", "CLIENT_ID": "app", "CLIENT_SECRET": "s",
		"REDIRECT_URI": "http://127.0.0.1:8000/callback", "PORT": "8000", "BUGS": "skip_iss, weak_cookie",
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8000 || cfg.AuthMethod != AuthClientSecretBasic || cfg.Bugs.String() != "skip_iss,weak_cookie" {
		t.Fatalf("%+v", cfg)
	}
	for key, bad := range map[string]string{
		"BUGS": "skip_iss,skip_everything", "PORT": "http", "ISSUER": "", "REDIRECT_URI": "http://127.0.0.1:8000/cb",
		"AUTH_METHOD": "private_key_jwt", "CLIENT_ID": "",
	} {
		old := env[key]
		env[key] = bad
		_, err := ConfigFromEnv(getenv)
		env[key] = old
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: error %v does not name %s", key, bad, err, key)
		}
		if key == "BUGS" && (err == nil || !strings.Contains(err.Error(), `"skip_everything"`)) {
			t.Errorf("BUGS: error %v does not name the value", err)
		}
	}
}

func TestBugsCatalogue(t *testing.T) {
	seen := map[Bug]bool{}
	for _, b := range Bugs() {
		if seen[b.Name] || b.Check == "" || b.Effect == "" {
			t.Fatalf("bad entry %+v", b)
		}
		seen[b.Name] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d bug switches, want the 20 of CHECKS.md's P rows", len(seen))
	}
}

// TestUnreachableProvider: /login with no provider shows an error, and /healthz stays ok.
func TestUnreachableProvider(t *testing.T) {
	app, err := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "x", RedirectURI: "http://127.0.0.1:2/callback",
		HTTPClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": 200, "/login": http.StatusBadGateway, "/me": 401} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
