package fastapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/rpapp"
)

// python is the Debian interpreter that has the apps' modules; a python3 found
// on PATH (pyenv, a virtualenv) usually has not.
const python = "/usr/bin/python3"

// loadProfile reads examples/apps/APP/app.yaml with the parser of `grantbench rp`.
func loadProfile(t *testing.T, app string) *rpapp.Profile {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", app))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rpapp.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatalf("%s/app.yaml: %v", app, err)
	}
	if p.Name != app || len(p.App.Command) == 0 || p.App.Ready == "" || p.Login == "" || p.LoggedIn.Path == "" || p.LoggedIn.Text == "" {
		t.Fatalf("%s/app.yaml lacks name, app.command, app.ready, login or logged_in: %+v", app, p)
	}
	return p
}

// requirePython skips the test when the Debian modules the apps import are missing.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import fastapi, uvicorn, jwt, requests").CombinedOutput()
	if err != nil {
		t.Skipf("%s cannot import the apps' modules (apt-get install python3-fastapi python3-uvicorn python3-jwt python3-requests; make test does): %v: %s",
			python, err, bytes.TrimSpace(out))
	}
}

// startProvider serves the bundled mock on 127.0.0.1 with the clients registered.
func startProvider(t *testing.T, clients ...mockprovider.Client) *mockprovider.Provider {
	t.Helper()
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clients = append(cfg.Clients, clients...)
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String()
	// A token_stall of 6 s is past the apps' 5 s timeout and costs less test time than the default 10 s.
	p, err := mockprovider.New(cfg, mockprovider.WithRPTokenStall(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// runningApp is an app started from its profile.
type runningApp struct {
	profile *rpapp.Profile
	baseURL string
	log     *syncBuffer
	exited  chan struct{} // closed when the process has ended
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// clientFor is the mock client the profile's client block describes, with
// its redirect URI resolved against the app's base URL.
func clientFor(p *rpapp.Profile, baseURL string) mockprovider.Client {
	return mockprovider.Client{
		ID:           p.Client.ClientID,
		Secret:       p.Client.ClientSecret,
		Public:       p.Client.ClientSecret == "",
		Name:         p.Name,
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{strings.ReplaceAll(p.Client.RedirectURI, "{{base_url}}", baseURL)},
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	}
}

// startApp runs the profile's command in its folder with its env templates
// filled in, in its own process group (killed at the end); waitReady waits
// for it. Both apps start before either is waited for: importing FastAPI is
// most of the time.
func startApp(t *testing.T, p *rpapp.Profile, port, issuer string) *runningApp {
	t.Helper()
	baseURL := "http://127.0.0.1:" + port
	// The profiles use no endpoint template, so the issuer is all the mock's metadata needed.
	rendered, err := p.Render(rpapp.Values{"issuer": issuer, "port": port, "base_url": baseURL})
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}, rendered.Env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, rendered.Command[0], rendered.Command[1:]...)
	cmd.Dir = rendered.Dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	app := &runningApp{profile: p, baseURL: baseURL, log: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = app.log, app.log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: start %v: %v", p.Name, p.App.Command, err)
	}
	go func() { _ = cmd.Wait(); close(app.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cancel()
		<-app.exited
		if t.Failed() {
			t.Logf("%s's log:\n%s", p.Name, tail(app.log.String(), 4000))
		}
	})
	return app
}

func (app *runningApp) waitReady(t *testing.T) {
	t.Helper()
	p := app.profile

	noRedirect := &http.Client{Timeout: time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-app.exited:
			t.Fatalf("%s exited before it was ready; its log:\n%s", p.Name, tail(app.log.String(), 4000))
		default:
		}
		if resp, err := noRedirect.Get(app.baseURL + p.App.Ready); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s within 15 s; its log:\n%s", p.Name, app.baseURL+p.App.Ready, tail(app.log.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// loginResult is what one login through the app showed.
type loginResult struct {
	loggedIn       bool   // the profile's logged_in text on its path
	callbackStatus int    // the app's answer to the authorization response
	callbackBody   string // its page when it did not redirect
	callbackURL    string // the authorization response the mock sent
	sessionCookie  string // the Set-Cookie header of the app's callback answer
	jar            http.CookieJar
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form id="(login|consent)-form" method="post" action="([^"]+)">`)
)

// login drives one login in a fresh cookie jar (a new browser): the app's
// login path, the mock's login and consent forms, the callback, then the
// profile's logged_in page.
func (a *runningApp) login(t *testing.T) loginResult {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var res loginResult
	res.jar = jar
	callbackPath := strings.TrimPrefix(strings.ReplaceAll(a.profile.Client.RedirectURI, "{{base_url}}", a.baseURL), a.baseURL)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("more than 10 redirects")
		}
		if prev := req.Response.Request.URL; strings.HasPrefix(prev.String(), a.baseURL) && prev.Path == callbackPath {
			res.sessionCookie = strings.Join(req.Response.Header.Values("Set-Cookie"), "; ")
		}
		if strings.HasPrefix(req.URL.String(), a.baseURL) && req.URL.Path == callbackPath {
			res.callbackURL = req.URL.String()
		}
		return nil
	}}
	resp, body := get(t, client, a.baseURL+a.profile.Login)
	for step := 0; step < 3 && resp.Request.URL.Host != strings.TrimPrefix(a.baseURL, "http://"); step++ {
		m := formAction.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: the mock's page %s (%d) has no login or consent form:\n%s", a.profile.Name, resp.Request.URL, resp.StatusCode, tail(body, 2000))
		}
		form := url.Values{}
		for _, h := range hiddenInput.FindAllStringSubmatch(body, -1) {
			form.Set(h[1], h[2])
		}
		if m[1] == "login" {
			form.Set("username", "alice")
			form.Set("password", "wonderland")
		} else {
			form.Set("decision", "approve")
		}
		action, err := resp.Request.URL.Parse(m[2])
		if err != nil {
			t.Fatal(err)
		}
		resp, body = post(t, client, action.String(), form)
	}
	if resp.Request.URL.Path == callbackPath {
		res.callbackStatus, res.callbackBody = resp.StatusCode, body
	} else {
		res.callbackStatus = http.StatusSeeOther // it redirected on, to the page resp is
	}
	me, meBody := get(t, client, a.baseURL+a.profile.LoggedIn.Path)
	res.loggedIn = me.StatusCode == http.StatusOK && strings.Contains(meBody, a.profile.LoggedIn.Text)
	return res
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, readBody(t, resp)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return resp, readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("reading %s: %v", resp.Request.URL, err)
	}
	return string(b)
}

// badResponses are provider defects (mockprovider/defects.go) that each make
// the authorization or token response one a relying party must refuse, with a
// word the verified app's error page names the reason by (so that it refuses
// for that reason, not another).
var badResponses = []struct{ defect, reason string }{
	{"wrong_iss", "issuer"},            // ID token names another issuer
	{"wrong_aud", "audience"},          // ID token names another audience
	{"bad_signature", "signature"},     // ID token signature corrupted
	{"alg_none", "alg"},                // ID token unsigned
	{"nonce_dropped", "nonce"},         // ID token without the nonce sent
	{"state_dropped", "state"},         // authorization response without state
	{"wrong_response_iss", "RFC 9207"}, // authorization response iss names another issuer
}

func TestFastAPIApps(t *testing.T) {
	requirePython(t)
	tutorial := loadProfile(t, "fastapi-tutorial")
	verified := loadProfile(t, "fastapi-verified")
	tutorialPort, verifiedPort := freePort(t), freePort(t)
	provider := startProvider(t,
		clientFor(tutorial, "http://127.0.0.1:"+tutorialPort),
		clientFor(verified, "http://127.0.0.1:"+verifiedPort))

	tutorialApp := startApp(t, tutorial, tutorialPort, provider.Issuer())
	verifiedApp := startApp(t, verified, verifiedPort, provider.Issuer())
	tutorialApp.waitReady(t)
	verifiedApp.waitReady(t)

	t.Run("logs in", func(t *testing.T) {
		for _, app := range []*runningApp{tutorialApp, verifiedApp} {
			res := app.login(t)
			if !res.loggedIn {
				t.Errorf("%s: no %q at %s after a clean login; callback answered %d: %s", app.profile.Name,
					app.profile.LoggedIn.Text, app.profile.LoggedIn.Path, res.callbackStatus, tail(res.callbackBody, 500))
			}
		}
	})

	t.Run("verified app's session cookie is HttpOnly and SameSite=Lax, the tutorial's is not", func(t *testing.T) {
		v, tu := verifiedApp.login(t), tutorialApp.login(t)
		lower := strings.ToLower(v.sessionCookie)
		if !strings.Contains(lower, "httponly") || !strings.Contains(lower, "samesite=lax") {
			t.Errorf("fastapi-verified's callback set %q", v.sessionCookie)
		}
		if lower := strings.ToLower(tu.sessionCookie); tu.sessionCookie == "" || strings.Contains(lower, "httponly") || strings.Contains(lower, "samesite") {
			t.Errorf("fastapi-tutorial's callback set %q; the tutorial app is meant to set a plain cookie", tu.sessionCookie)
		}
	})

	t.Run("verified app refuses a replayed authorization response", func(t *testing.T) {
		res := verifiedApp.login(t)
		if !res.loggedIn || res.callbackURL == "" {
			t.Fatalf("the first login failed (logged in %v, callback %q)", res.loggedIn, res.callbackURL)
		}
		// The same browser (its login cookie) replays the callback: state is single use.
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(verifiedApp.baseURL)
		for _, c := range res.jar.Cookies(u) {
			if c.Name != "session" {
				jar.SetCookies(u, []*http.Cookie{c})
			}
		}
		replay := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, body := get(t, replay, res.callbackURL)
		me, meBody := get(t, replay, verifiedApp.baseURL+"/me")
		if me.StatusCode == http.StatusOK || strings.Contains(meBody, "alice") || resp.StatusCode >= 500 || strings.Contains(body, "alice") {
			t.Errorf("replayed callback: %d %q, then /me %d %q", resp.StatusCode, tail(body, 300), me.StatusCode, meBody)
		}
	})

	for _, bad := range badResponses {
		defect := bad.defect
		t.Run("defect "+defect, func(t *testing.T) {
			err := provider.SetDefects(mockprovider.DefectSettings{Clients: map[string][]string{
				tutorial.Client.ClientID: {defect}, verified.Client.ClientID: {defect}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = provider.SetDefects(mockprovider.DefectSettings{}) })

			if res := verifiedApp.login(t); res.loggedIn {
				t.Errorf("fastapi-verified let alice in although the provider has %s on", defect)
			} else if res.callbackStatus >= 500 || strings.Contains(res.callbackBody, "alice") {
				t.Errorf("fastapi-verified's refusal is a %d or names the user: %s", res.callbackStatus, tail(res.callbackBody, 500))
			} else if !strings.Contains(strings.ToLower(res.callbackBody), strings.ToLower(bad.reason)) {
				t.Errorf("fastapi-verified refused, but its error page does not name the %s: %s", bad.reason, tail(res.callbackBody, 500))
			}
			if res := tutorialApp.login(t); !res.loggedIn {
				t.Errorf("fastapi-tutorial refused the login with %s on (callback %d: %s); it is meant to check nothing",
					defect, res.callbackStatus, tail(res.callbackBody, 300))
			}
		})
	}

	for _, tc := range stimuli {
		t.Run("stimulus "+string(tc.stimulus), func(t *testing.T) {
			for _, app := range []*runningApp{verifiedApp, tutorialApp} {
				want := tc.verified
				if app == tutorialApp {
					want = tc.tutorial
				}
				if want == notRun {
					continue
				}
				if err := provider.SetRPStimuli(app.profile.Client.ClientID, tc.stimulus); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				res := app.login(t)
				elapsed := time.Since(start)
				if err := provider.SetRPStimuli(app.profile.Client.ClientID); err != nil {
					t.Fatal(err)
				}
				switch {
				case want == logsIn && !res.loggedIn:
					t.Errorf("%s refused the login with %s (callback %d: %s)", app.profile.Name, tc.stimulus, res.callbackStatus, tail(res.callbackBody, 300))
				case want == refuses && res.loggedIn:
					t.Errorf("%s let alice in with %s", app.profile.Name, tc.stimulus)
				case want == refuses && app == verifiedApp && (res.callbackStatus >= 500 || strings.Contains(res.callbackBody, "alice")):
					t.Errorf("%s's refusal is a %d or names the user: %s", app.profile.Name, res.callbackStatus, tail(res.callbackBody, 300))
				case want == refuses && app == verifiedApp && !strings.Contains(strings.ToLower(res.callbackBody), strings.ToLower(tc.reason)):
					t.Errorf("%s refused, but its error page does not name the %s: %s", app.profile.Name, tc.reason, tail(res.callbackBody, 300))
				case app == verifiedApp && elapsed > 8*time.Second:
					t.Errorf("%s took %v, past its own 5 s timeout", app.profile.Name, elapsed.Round(time.Millisecond))
				}
			}
		})
	}

	t.Run("callback replayed in a fresh browser with a reusable code", func(t *testing.T) {
		for _, app := range []*runningApp{verifiedApp, tutorialApp} {
			if err := provider.SetRPStimuli(app.profile.Client.ClientID, mockprovider.RPCodeReusable); err != nil {
				t.Fatal(err)
			}
			res := app.login(t)
			jar, _ := cookiejar.New(nil)
			replay := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			_, _ = get(t, replay, res.callbackURL)
			me, meBody := get(t, replay, app.baseURL+app.profile.LoggedIn.Path)
			replayedIn := me.StatusCode == http.StatusOK && strings.Contains(meBody, app.profile.LoggedIn.Text)
			if err := provider.SetRPStimuli(app.profile.Client.ClientID); err != nil {
				t.Fatal(err)
			}
			if !res.loggedIn || res.callbackURL == "" {
				t.Errorf("%s: the first login failed", app.profile.Name)
			}
			// Only its own defences (state bound to the browser) keep the verified app safe;
			// the tutorial app, with none, gives the replayer a session.
			if wantIn := app == tutorialApp; replayedIn != wantIn {
				t.Errorf("%s: the replayed callback logged in: %v, want %v", app.profile.Name, replayedIn, wantIn)
			}
		}
	})

	t.Run("authorization requests", func(t *testing.T) {
		// Every login above went through /authorize: the verified app sent PKCE S256,
		// a nonce and a fresh state of at least 128 bits each time, the tutorial app none.
		seen := map[string]bool{}
		for _, req := range provider.RPObservations(verified.Client.ClientID).AuthorizationRequests {
			if req.ResponseType != "code" || req.CodeChallengeMethod != "S256" || req.CodeChallenge == "" || len(req.State) < 22 || req.Nonce == "" || seen[req.State] {
				t.Errorf("fastapi-verified sent response_type %q, code_challenge_method %q, state %d characters (repeated %v), nonce %v",
					req.ResponseType, req.CodeChallengeMethod, len(req.State), seen[req.State], req.Nonce != "")
			}
			seen[req.State] = true
		}
		if len(seen) < 2 {
			t.Errorf("the mock saw %d authorization requests of fastapi-verified", len(seen))
		}
		for _, req := range provider.RPObservations(tutorial.Client.ClientID).AuthorizationRequests {
			if req.State != "" || req.CodeChallenge != "" || req.Nonce != "" {
				t.Errorf("fastapi-tutorial sent state, PKCE or nonce (%v); it is meant to send none", req.Query)
			}
		}
	})
}

// outcome is what an app must do with a stimulus.
type outcome int

const (
	refuses outcome = iota // not log the user in
	logsIn                 // log the user in
	notRun                 // not tried (it would only cost time)
)

// stimuli are the mock's bad responses for `grantbench rp` (mockprovider/rp.go),
// each with what the verified app must do (and the word its error page names
// the reason by) and what the tutorial app does.
var stimuli = []struct {
	stimulus           mockprovider.RPStimulus
	reason             string
	verified, tutorial outcome
}{
	{mockprovider.RPIDTokenOtherIss, "issuer", refuses, logsIn},
	{mockprovider.RPIDTokenOtherAud, "audience", refuses, logsIn},
	{mockprovider.RPIDTokenNoAud, "aud", refuses, logsIn},
	{mockprovider.RPIDTokenBadSignature, "signature", refuses, logsIn},
	{mockprovider.RPIDTokenAlgNone, "alg", refuses, logsIn},
	{mockprovider.RPIDTokenHS256Secret, "alg", refuses, logsIn},
	{mockprovider.RPIDTokenExpired, "expired", refuses, logsIn},
	{mockprovider.RPIDTokenNoIat, "iat", refuses, logsIn},
	{mockprovider.RPIDTokenIatFuture, "iat", refuses, logsIn},
	{mockprovider.RPIDTokenOtherNonce, "nonce", refuses, logsIn},
	{mockprovider.RPIDTokenNoNonce, "nonce", refuses, logsIn},
	{mockprovider.RPIDTokenNoSub, "sub", refuses, notRun}, // the tutorial shows "logged in as None"
	{mockprovider.RPJWKSSingleKeyNoKid, "", logsIn, logsIn},
	{mockprovider.RPRotateKeyBeforeSigning, "", logsIn, logsIn},
	{mockprovider.RPUserinfoOtherSub, "userinfo", refuses, logsIn},
	{mockprovider.RPStateDropped, "state", refuses, logsIn},
	{mockprovider.RPResponseIssOther, "RFC 9207", refuses, logsIn},
	{mockprovider.RPTokenInvalidGrant, "invalid_grant", refuses, refuses},
	{mockprovider.RPToken503, "503", refuses, refuses},
	{mockprovider.RPTokenReset, "token request failed", refuses, refuses},
	{mockprovider.RPTokenStall, "within 5 s", refuses, notRun}, // the tutorial has no timeout
	{mockprovider.RPTokenNoIDToken, "id_token", refuses, refuses},
	{mockprovider.RPTokenTypeNotBearer, "token_type", refuses, logsIn},
}
