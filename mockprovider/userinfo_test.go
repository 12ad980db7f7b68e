package mockprovider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

func userinfo(t *testing.T, f *fixture, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url("/userinfo"), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, _ := doJSON(t, f.srv.Client(), req)
	return resp
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
