package mockprovider

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
)

const testRedirect = "http://127.0.0.1:43123/callback"

func oauthConfig(f *fixture, clientID, secret string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{AuthURL: f.url("/authorize"), TokenURL: f.url("/token"),
			DeviceAuthURL: f.url("/device_authorization"), AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: testRedirect,
		Scopes:      scopes,
	}
}

// codeFlow runs the authorization code flow up to the code; it returns the
// code and the verifier.
func codeFlow(t *testing.T, f *fixture, b *browser, conf *oauth2.Config, state string, opts ...oauth2.AuthCodeOption) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	loc := b.authorize(conf.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...), "approve")
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state || q.Get("iss") != f.cfg.Issuer {
		t.Fatalf("state %q iss %q", q.Get("state"), q.Get("iss"))
	}
	return q.Get("code"), verifier
}

func retrieveErrorCode(t *testing.T, err error) oauth.ErrorCode {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an OAuth error, got %v", err)
	}
	return oauth.ErrorCode(re.ErrorCode)
}

func TestAuthorizationCodeFlow(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SigningAlg = alg })
			ctx := testContext(t)
			for _, tc := range []struct{ id, secret string }{{"demo", "demo-secret"}, {"demo-public", ""}} {
				conf := oauthConfig(f, tc.id, tc.secret, "openid", "profile", "email", "api.read")
				if tc.secret == "" {
					conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
				}
				b := newBrowser(t, f)
				state := "st&te=/?é " + tc.id // B8: byte-identical, even with reserved characters
				code, verifier := codeFlow(t, f, b, conf, state, oauth2.SetAuthURLParam("nonce", "n-0S6"))
				tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				if tok.RefreshToken == "" {
					t.Error("no refresh token for a client allowed refresh_token")
				}
				access := verifyAccessToken(t, f, tok.AccessToken, jose.SignatureAlgorithm(alg))
				if access["sub"] != "alice" || access["client_id"] != tc.id {
					t.Errorf("access token claims %v", access)
				}
				rawID, _ := tok.Extra("id_token").(string)
				id := verifyIDToken(t, f, rawID, tc.id, jose.SignatureAlgorithm(alg))
				if id["nonce"] != "n-0S6" || id["at_hash"] != halfHash(tok.AccessToken) || id["c_hash"] != halfHash(code) {
					t.Errorf("nonce/at_hash/c_hash wrong: %v", id)
				}
				if id["email"] != "alice@example.com" || id["name"] != "Alice Liddell" {
					t.Errorf("profile/email claims missing: %v", id)
				}
				// A second authorization in the same browser skips the login page.
				p := b.get(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier)))
				if !p.has("consent-form") || p.has("login-form") {
					t.Fatalf("second authorization did not reuse the session: %s", p.body)
				}
			}
		})
	}
}

func verifyIDToken(t *testing.T, f *fixture, raw, clientID string, alg jose.SignatureAlgorithm) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	var std jwt.Claims
	var claims map[string]any
	if err := parsed.Claims(fetchJWKS(t, f), &std, &claims); err != nil {
		t.Fatal(err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: f.cfg.Issuer, AnyAudience: jwt.Audience{clientID},
		Time: f.p.now()}, 0); err != nil {
		t.Fatal(err)
	}
	if claims["azp"] != clientID || claims["auth_time"] == nil || claims["sub"] != "alice" {
		t.Errorf("id_token claims %v", claims)
	}
	return claims
}

func TestCodeExchangeErrors(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	conf := oauthConfig(f, "demo", "demo-secret", "openid", "api.read")
	b := newBrowser(t, f)

	t.Run("AC2 reuse revokes the first exchange", func(t *testing.T) {
		code, verifier := codeFlow(t, f, b, conf, "s")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
		if introspect(t, f, tok.AccessToken)["active"] != false || introspect(t, f, tok.RefreshToken)["active"] != false {
			t.Fatal("tokens of the first exchange still active after code reuse")
		}
	})
	t.Run("AC3 parallel redemption", func(t *testing.T) {
		code, verifier := codeFlow(t, f, b, conf, "s")
		wins := parallelWins(8, func() bool {
			_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			return err == nil
		})
		if wins != 1 {
			t.Fatalf("%d parallel redemptions succeeded, want exactly 1", wins)
		}
	})
	t.Run("AC4 expired", func(t *testing.T) {
		code, verifier := codeFlow(t, f, b, conf, "s")
		f.clock.Advance(61 * time.Second)
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC5 another client", func(t *testing.T) {
		code, verifier := codeFlow(t, f, b, conf, "s")
		other := oauthConfig(f, "demo-public", "")
		other.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		_, err := other.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant && got != oauth.InvalidClient {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC6 redirect_uri differs", func(t *testing.T) {
		code, verifier := codeFlow(t, f, b, conf, "s")
		moved := *conf
		moved.RedirectURL = "http://127.0.0.1:43124/callback"
		_, err := moved.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC7 verifier missing", func(t *testing.T) {
		code, _ := codeFlow(t, f, b, conf, "s")
		_, err := conf.Exchange(ctx, code)
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC8 wrong verifier", func(t *testing.T) {
		code, _ := codeFlow(t, f, b, conf, "s")
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC9 downgrade", func(t *testing.T) {
		loc := b.authorize(conf.AuthCodeURL("s"), "approve") // no challenge: allowed for a confidential client
		_, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AC10 short verifier", func(t *testing.T) {
		short := "abc"
		loc := b.authorize(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(short)),
			oauth2.SetAuthURLParam("code_challenge_method", "S256")), "approve")
		_, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(short))
		if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
			t.Fatalf("got %s", got)
		}
	})
}

// introspect asks /introspect as the demo client.
func introspect(t *testing.T, f *fixture, token string) map[string]any {
	t.Helper()
	_, body := f.postForm(t, "/introspect", url.Values{"token": {token}}, "demo", "demo-secret")
	return body
}

func TestAuthorizeRequestErrors(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	base := func(client string, extra ...string) string {
		q := url.Values{"client_id": {client}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "state": {"xyz"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				q.Del(extra[i])
			} else {
				q.Set(extra[i], extra[i+1])
			}
		}
		return "/authorize?" + q.Encode()
	}
	wantRedirectError := func(t *testing.T, rawURL string, code oauth.ErrorCode) {
		t.Helper()
		p := b.get(rawURL)
		loc := b.location(p)
		if !strings.HasPrefix(loc.String(), testRedirect) {
			t.Fatalf("error went to %s, not the client's redirect URI", loc)
		}
		q := loc.Query()
		if q.Get("error") != code.String() || q.Get("state") != "xyz" || q.Get("iss") != f.cfg.Issuer {
			t.Fatalf("got error %q state %q iss %q, want %s", q.Get("error"), q.Get("state"), q.Get("iss"), code)
		}
	}
	wantErrorPage := func(t *testing.T, rawURL string) {
		t.Helper()
		p := b.get(rawURL)
		if p.resp.StatusCode != http.StatusBadRequest || !p.has("error") || p.resp.Header.Get("Location") != "" {
			t.Fatalf("want the error page (400, #error, no redirect), got %d %q", p.resp.StatusCode, p.resp.Header.Get("Location"))
		}
	}

	t.Run("AC11 public client without challenge", func(t *testing.T) {
		wantRedirectError(t, base("demo-public", "code_challenge", "", "code_challenge_method", ""), oauth.InvalidRequest)
	})
	t.Run("AC10 plain method", func(t *testing.T) {
		wantRedirectError(t, base("demo-public", "code_challenge_method", "plain"), oauth.InvalidRequest)
		wantRedirectError(t, base("demo-public", "code_challenge_method", ""), oauth.InvalidRequest)
	})
	t.Run("AC12 unknown parameter ignored", func(t *testing.T) {
		p := b.get(base("demo", "x_unknown", "1"))
		if !p.has("login-form") && !p.has("consent-form") {
			t.Fatalf("unknown parameter not ignored: %d %s", p.resp.StatusCode, p.body)
		}
	})
	t.Run("AC13 repeated parameter", func(t *testing.T) {
		wantRedirectError(t, base("demo")+"&scope=openid&scope=api.read", oauth.InvalidRequest)
		wantErrorPage(t, base("demo")+"&redirect_uri="+url.QueryEscape(testRedirect))
	})
	t.Run("AC14 response_type", func(t *testing.T) {
		wantRedirectError(t, base("demo", "response_type", ""), oauth.InvalidRequest)
		wantRedirectError(t, base("demo", "response_type", "code id_token"), oauth.UnsupportedResponseType)
	})
	t.Run("AC15 deny", func(t *testing.T) {
		loc := b.authorize(f.url(base("demo")), "deny")
		if loc.Query().Get("error") != oauth.AccessDenied.String() || loc.Query().Get("state") != "xyz" || loc.Query().Get("iss") != f.cfg.Issuer {
			t.Fatalf("deny gave %s", loc)
		}
	})
	t.Run("B1 unregistered redirect_uri", func(t *testing.T) {
		wantErrorPage(t, base("demo", "redirect_uri", "https://evil.example/callback"))
		wantErrorPage(t, base("nobody"))
	})
	t.Run("B2 not an exact match", func(t *testing.T) {
		for _, uri := range []string{
			"http://127.0.0.1:43123/callback?x=1", "http://127.0.0.1:43123/callback/more",
			"http://127.0.0.1:43123/callback/../callback", "http://127.0.0.1:43123/Callback",
			"http://127.0.0.1:43123/callback#frag", "http://127.0.0.1.evil.example/callback",
			"http://127.0.0.1:0/callback", "http://127.0.0.1:99999/callback", "https://127.0.0.1:443/callback",
		} {
			wantErrorPage(t, base("demo", "redirect_uri", uri))
		}
		// Loopback without a registered port: any port (RFC 8252 7.3), and no port.
		for _, uri := range []string{"http://127.0.0.1:1/callback", "http://localhost:65535/callback", "http://127.0.0.1/callback"} {
			if p := b.get(base("demo", "redirect_uri", uri)); p.resp.StatusCode != http.StatusOK {
				t.Errorf("%s refused: %d", uri, p.resp.StatusCode)
			}
		}
	})
	t.Run("B3 none sent with several registered", func(t *testing.T) {
		wantErrorPage(t, base("demo", "redirect_uri", ""))
	})
	t.Run("B4 errors go to the client", func(t *testing.T) {
		wantRedirectError(t, base("demo", "scope", "openid admin"), oauth.InvalidScope)
		wantRedirectError(t, base("demo", "response_type", "token"), oauth.UnauthorizedClient)
	})
	t.Run("B5 framing refused", func(t *testing.T) {
		p := b.get(base("demo"))
		if p.resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(p.resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("headers %v", p.resp.Header)
		}
	})
	t.Run("prompt=none without a session", func(t *testing.T) {
		fresh := newBrowser(t, f)
		loc := fresh.location(fresh.get(base("demo", "prompt", "none")))
		if loc.Query().Get("error") != oauth.LoginRequired.String() || loc.Query().Get("state") != "xyz" {
			t.Fatalf("got %s", loc)
		}
	})
	t.Run("B7 wrong password then 303", func(t *testing.T) {
		fresh := newBrowser(t, f)
		p := fresh.get(base("demo"))
		again := fresh.submit(p, "/login", url.Values{"username": {"alice"}, "password": {"nope"}})
		if again.resp.StatusCode != http.StatusOK || !again.has("login-error") {
			t.Fatalf("wrong password: %d", again.resp.StatusCode)
		}
		ok := fresh.submit(again, "/login", url.Values{"username": {"alice"}, "password": {"wonderland"}})
		if ok.resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login answered %d", ok.resp.StatusCode)
		}
	})
	t.Run("login without the CSRF token", func(t *testing.T) {
		fresh := newBrowser(t, f)
		p := fresh.get(base("demo"))
		form := p.fields()
		form.Set("csrf_token", "forged")
		form.Set("username", "alice")
		form.Set("password", "wonderland")
		if got := fresh.post("/login", form); got.resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged CSRF token accepted: %d", got.resp.StatusCode)
		}
	})
}

func TestPromptNoneWithSession(t *testing.T) {
	f := newFixture(t, nil)
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	b := newBrowser(t, f)
	codeFlow(t, f, b, conf, "first")
	loc := b.authorize(conf.AuthCodeURL("second", oauth2.SetAuthURLParam("prompt", "none")), "approve")
	if loc.Query().Get("code") == "" || loc.Query().Get("iss") != f.cfg.Issuer {
		t.Fatalf("prompt=none with a session and consent: %s", loc)
	}
	loc = b.authorize(conf.AuthCodeURL("third", oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("scope", "openid api.write")), "approve")
	if loc.Query().Get("error") != oauth.ConsentRequired.String() {
		t.Fatalf("prompt=none for new scopes: %s", loc)
	}
	f.clock.Advance(9 * time.Hour) // past the session lifetime
	loc = b.authorize(conf.AuthCodeURL("fourth", oauth2.SetAuthURLParam("prompt", "none")), "approve")
	if loc.Query().Get("error") != oauth.LoginRequired.String() {
		t.Fatalf("prompt=none after the session expired: %s", loc)
	}
}
