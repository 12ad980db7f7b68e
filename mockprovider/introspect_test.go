package mockprovider

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/oauth"
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
