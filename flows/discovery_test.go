package flows

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiscoveryURLs(t *testing.T) {
	oidc, rfc, err := DiscoveryURLs("https://idp.example.com/tenant/a")
	if err != nil {
		t.Fatal(err)
	}
	if oidc != "https://idp.example.com/tenant/a/.well-known/openid-configuration" {
		t.Errorf("oidc = %s", oidc)
	}
	if rfc != "https://idp.example.com/.well-known/oauth-authorization-server/tenant/a" {
		t.Errorf("rfc8414 = %s (RFC 8414 3.1 inserts the well-known path before the issuer's path)", rfc)
	}
}

func TestDiscoverFallsBackToRFC8414(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server/as" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, 200, map[string]any{"issuer": srv.URL + "/as", "token_endpoint": srv.URL + "/as/token",
			"code_challenge_methods_supported": []string{"S256"}, "x_custom": true})
	}))
	defer srv.Close()
	tg := &Target{Issuer: srv.URL + "/as"}
	if err := tg.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	md := tg.Metadata
	if md.TokenEndpoint != srv.URL+"/as/token" || !md.SupportsCodeChallenge("S256") || md.Raw["x_custom"] != true ||
		!strings.Contains(md.Source, "oauth-authorization-server") {
		t.Errorf("metadata = %+v", md)
	}
}

func TestDiscoverChecksIssuer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": "https://evil.example", "token_endpoint": "https://evil.example/token"})
	}))
	defer srv.Close()
	tg := &Target{Issuer: srv.URL}
	err := tg.Discover(context.Background())
	var re *ResponseError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("error = %v, want a *ResponseError about the issuer", err)
	}
	if tg.Metadata != nil {
		t.Error("Metadata set despite the mismatch")
	}
}

func TestDiscoverUnreachableIsTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	err := (&Target{Issuer: u}).Discover(context.Background())
	var te *TransportError
	if !errors.As(err, &te) {
		t.Errorf("error = %v, want *TransportError", err)
	}
}

func TestParsePageFindsForms(t *testing.T) {
	body := `<html><body><p id="login-error">Wrong password</p>
<form id="login-form" method="post" action="/login"><input type="hidden" name="csrf_token" value="c1">
<input id="username" name="user"><input id="password" name="pw" type="password">
<button id="login-submit" type="submit">Go</button></form>
<form id="consent-form" method="post" action="consent"><input type="hidden" name="csrf_token" value="c2">
<button id="approve" name="decision" value="approve">A</button><button id="deny" name="decision" value="deny">D</button></form>
</body></html>`
	u, _ := url.Parse("http://127.0.0.1:9/authorize?x=1")
	p, err := parsePage(u, 200, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.forms) != 2 || p.texts["login-error"] != "Wrong password" {
		t.Fatalf("forms %+v texts %v", p.forms, p.texts)
	}
	login := &p.forms[0]
	if !login.hasPassword() || fieldName(login, "#username", "username") != "user" || fieldName(login, "#password", "password") != "pw" {
		t.Errorf("login form %+v", login)
	}
	consent := &p.forms[1]
	deny := buttonFor(consent, "#deny", "deny")
	req, err := submit(p, consent, nil, deny)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "http://127.0.0.1:9/consent" || req.Method != http.MethodPost {
		t.Errorf("submit to %s %s", req.Method, req.URL)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if req.PostForm.Get("decision") != "deny" || req.PostForm.Get("csrf_token") != "c2" {
		t.Errorf("posted %v", req.PostForm)
	}
}

// The HTTP form driver recognises pages by the profile's selectors: a login
// form whose username field is found by name, a consent form with no
// "decision" button, an error element of the provider's own; a hidden input
// that matches the login selector does not make a consent page a login page.
func TestFormDriverRecognisesProfileSelectors(t *testing.T) {
	target := &Target{Browser: Selectors{
		Login:   LoginSelectors{Username: "input[name=login]", Password: "#secret", Submit: "form.signin button[type=submit]"},
		Consent: ConsentSelectors{Approve: "button[value=allow]", Deny: "button[value=reject]"},
		Error:   ".oauth-error .code", ErrorDescription: ".oauth-error .detail",
	}}
	login := `<form class="signin" method="post" action="/login"><input type="hidden" name="csrf" value="c">
<input name="login"><input id="secret" name="secret" type="password"><button type="button">Show</button><button type="submit">Go</button></form>`
	consent := `<form method="post" action="/consent"><input type="hidden" name="login" value="alice">
<button type="submit" name="action" value="reject">No</button><button type="submit" name="action" value="allow">Yes</button></form>`
	errorPage := `<div class="oauth-error"><span class="code">invalid_request</span><p class="detail">bad</p></div>`
	for body, want := range map[string]PageKind{login: PageLogin, consent: PageConsent, errorPage: PageError, "<p>hello</p>": PageUnknown} {
		if got := target.ClassifyPage([]byte(body)); got != want {
			t.Errorf("ClassifyPage(%.40q) = %q, want %q", body, got, want)
		}
	}

	u, _ := url.Parse("http://127.0.0.1:9/authorize")
	d := &pageDriver{t: target}
	page, _ := parsePage(u, 200, []byte(login))
	tried := false
	req, step, err := d.answer(page, &tried)
	if err != nil || step != "login" {
		t.Fatalf("login page: step %q, err %v", step, err)
	}
	req.ParseForm()
	if req.PostForm.Get("login") != target.User.Username || req.PostForm.Get("secret") != target.User.Password || req.PostForm.Get("csrf") != "c" {
		t.Errorf("login posted %v", req.PostForm)
	}
	page, _ = parsePage(u, 200, []byte(consent))
	d.deny = true
	req, step, err = d.answer(page, &tried)
	if err != nil || step != "consent" {
		t.Fatalf("consent page: step %q, err %v", step, err)
	}
	req.ParseForm()
	if req.PostForm.Get("action") != "reject" {
		t.Errorf("deny posted %v", req.PostForm)
	}
}

func TestDiscoverWithCAFile(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "issuer: " + srv.URL + "\nclients: {public: {client_id: p}}\n"
	plain, err := ParseTarget([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var te *TransportError
	if err := plain.Discover(context.Background()); !errors.As(err, &te) {
		t.Errorf("untrusted certificate: %v, want *TransportError", err)
	}
	trusting, err := ParseTarget([]byte(doc + "tls: {ca_file: " + caFile + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := trusting.Discover(context.Background()); err != nil {
		t.Errorf("with tls.ca_file: %v", err)
	}
	// A relative ca_file is found next to the profile.
	profile := filepath.Join(filepath.Dir(caFile), "target.yaml")
	if err := os.WriteFile(profile, []byte(doc+"tls: {ca_file: ca.pem}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadTarget(profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Discover(context.Background()); err != nil {
		t.Errorf("relative tls.ca_file: %v", err)
	}
	_, err = ParseTarget([]byte(doc + "tls: {ca_file: " + filepath.Join(t.TempDir(), "none.pem") + "}\n"))
	var pe *ProfileError
	if !errors.As(err, &pe) || pe.Field != "tls.ca_file" {
		t.Errorf("missing CA file: %v", err)
	}
}

// TestDiscoveryErrorsSayWhatCameBack: a server that answers discovery with
// something unusable is reported with what it sent, at the OIDC URL (not the
// RFC 8414 fallback's 404), as a *ResponseError (the server answered, so no
// "unreachable"), and the body read is bounded.
func TestDiscoveryErrorsSayWhatCameBack(t *testing.T) {
	chunk := strings.Repeat(" ", 64<<10)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		status  int
		want    []string
	}{
		{"plain text", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello")
		}, 200, []string{"not JSON", "text/plain", `"hello"`}},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Welcome to nginx</body></html>")
		}, 200, []string{"not JSON", "text/html", "Welcome to nginx"}},
		{"an array", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"issuer": "x"}]`)
		}, 200, []string{"a JSON array, not an object"}},
		{"a string issuer that is a number", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"issuer": 5, "token_endpoint": "http://x/token"}`)
		}, 200, []string{`member "issuer" is a JSON number, want a string`}},
		{"scopes as a string", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"issuer": "x", "scopes_supported": "openid profile"}`)
		}, 200, []string{`member "scopes_supported" is a JSON string, want an array of strings`}},
		{"an empty 200", func(w http.ResponseWriter, r *http.Request) {}, 200, []string{"not JSON", "an empty body"}},
		{"a 500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database down", http.StatusInternalServerError)
		}, 500, []string{"want 200 with the metadata", "database down"}},
		{"a redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}, 302, []string{"redirects to /.well-known/openid-configuration", "follows no redirect"}},
		{"a 50 MB body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"issuer": "x",`)
			for range 800 { // 50 MiB, until the client hangs up
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
			io.WriteString(w, `}`)
		}, 200, []string{"larger than 1048576 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			tg := &Target{Issuer: srv.URL}
			defer tg.CloseIdleConnections()
			err := tg.Discover(context.Background())
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want a *ResponseError", err, err)
			}
			msg := err.Error()
			wantStart := fmt.Sprintf("flows: discovery: HTTP %d: GET %s/.well-known/openid-configuration: ", tc.status, srv.URL)
			if !strings.HasPrefix(msg, wantStart) {
				t.Errorf("error %q does not start with %q", msg, wantStart)
			}
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if !strings.Contains(msg, "the RFC 8414 fallback") || len(msg) > 2000 {
				t.Errorf("error %q: want the fallback's outcome, in under 2000 bytes", msg)
			}
		})
	}
}

// TestDiscoveryFallbackErrorIsShownToo: an OIDC 404 then a broken RFC 8414
// document reports both.
func TestDiscoveryFallbackErrorIsShownToo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/oauth-authorization-server" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>login</html>")
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	err := (&Target{Issuer: srv.URL}).Discover(context.Background())
	msg := fmt.Sprint(err)
	for _, want := range []string{"HTTP 404: GET " + srv.URL + "/.well-known/openid-configuration", "the RFC 8414 fallback " + srv.URL + "/.well-known/oauth-authorization-server answered HTTP 200: the metadata is not JSON", "<html>login</html>"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}
