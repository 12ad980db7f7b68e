package mockprovider

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2/clientcredentials"
)

func TestIntrospection(t *testing.T) {
	f := newFixture(t, nil)
	_, tok := freshTokens(t, f, "openid", "api.read")

	got := introspect(t, f, tok.AccessToken)
	if got["active"] != true || got["client_id"] != "demo" || got["sub"] != "alice" || got["username"] != "alice" ||
		got["token_type"] != "Bearer" || got["iss"] != f.cfg.Issuer || got["scope"] != "openid api.read" {
		t.Fatalf("active introspection %v", got)
	}
	if got := introspect(t, f, tok.RefreshToken); got["active"] != true || got["token_type"] != "refresh_token" {
		t.Fatalf("refresh token introspection %v", got)
	}

	t.Run("I1 exactly active false", func(t *testing.T) {
		for _, token := range []string{"unknown", strings.Repeat("x", 2000)} {
			resp, err := postRaw(f, "/introspect", url.Values{"token": {token}}, "demo", "demo-secret")
			if err != nil {
				t.Fatal(err)
			}
			if resp != `{"active":false}` {
				t.Fatalf("inactive answer %s", resp)
			}
		}
	})
	t.Run("I2 caller must authenticate", func(t *testing.T) {
		resp, body := f.postForm(t, "/introspect", url.Values{"token": {tok.AccessToken}}, "", "")
		wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
		resp, body = f.postForm(t, "/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {"demo-public"}}, "", "")
		wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
		resp, body = f.postForm(t, "/introspect", url.Values{"token": {tok.AccessToken}}, "demo", "bad")
		wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
	})
	t.Run("E1 expired access token", func(t *testing.T) {
		_, tok := freshTokens(t, f, "openid", "api.read")
		f.clock.Advance(61 * time.Minute)
		if got, _ := postRaw(f, "/introspect", url.Values{"token": {tok.AccessToken}}, "demo", "demo-secret"); got != `{"active":false}` {
			t.Fatalf("expired token: %s", got)
		}
		resp := userinfo(t, f, tok.AccessToken)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("userinfo with an expired token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

// postRaw posts a form and returns the body as text.
func postRaw(f *fixture, path string, form url.Values, user, pass string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, f.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func userinfo(t *testing.T, f *fixture, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url("/userinfo"), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, _ := doJSON(t, f.srv.Client(), req)
	return resp
}

func TestRevocation(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("V1 unknown token", func(t *testing.T) {
		resp, _ := f.postForm(t, "/revoke", url.Values{"token": {"never-issued"}}, "demo", "demo-secret")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("V2 another client's token", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		resp, _ := f.postForm(t, "/revoke", url.Values{"token": {tok.AccessToken}}, "demo-legacy", "legacy-secret")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if introspect(t, f, tok.AccessToken)["active"] != true {
			t.Fatal("another client revoked the token")
		}
	})
	t.Run("access token", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}
		tok, err := cc.Token(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := f.postForm(t, "/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, "demo", "demo-secret")
		if resp.StatusCode != 200 || introspect(t, f, tok.AccessToken)["active"] != false {
			t.Fatal("revoked access token still active")
		}
	})
	t.Run("needs client authentication", func(t *testing.T) {
		resp, body := f.postForm(t, "/revoke", url.Values{"token": {"x"}}, "demo", "wrong")
		wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
		resp, body = f.postForm(t, "/revoke", url.Values{}, "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidRequest)
	})
}

func TestUserinfo(t *testing.T) {
	f := newFixture(t, nil)
	_, tok := freshTokens(t, f, "openid", "email")
	req, _ := http.NewRequest(http.MethodGet, f.url("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, body := doJSON(t, f.srv.Client(), req)
	if resp.StatusCode != 200 || body["sub"] != "alice" || body["email"] != "alice@example.com" || body["name"] != nil {
		t.Fatalf("userinfo %d %v", resp.StatusCode, body)
	}
	for name, token := range map[string]string{"missing": "", "unknown": "garbage"} {
		resp := userinfo(t, f, token)
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s token: %d %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Revoked.
	f.postForm(t, "/revoke", url.Values{"token": {tok.AccessToken}}, "demo", "demo-secret")
	if resp := userinfo(t, f, tok.AccessToken); resp.StatusCode != 401 {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
	// A client's own token has no user.
	cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token"), Scopes: []string{"openid"}}
	ccTok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp := userinfo(t, f, ccTok.AccessToken); resp.StatusCode != 403 {
		t.Fatalf("client token at userinfo: %d", resp.StatusCode)
	}
}

func TestOpaqueAccessTokens(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AccessTokenFormat = AccessTokenOpaque })
	_, tok := freshTokens(t, f, "openid", "api.read")
	if strings.Count(tok.AccessToken, ".") == 2 || len(tok.AccessToken) < 43 {
		t.Fatalf("not an opaque 256-bit token: %q", tok.AccessToken)
	}
	if got := introspect(t, f, tok.AccessToken); got["active"] != true || got["jti"] == nil {
		t.Fatalf("introspection %v", got)
	}
	if resp := userinfo(t, f, tok.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("userinfo %d", resp.StatusCode)
	}
}
