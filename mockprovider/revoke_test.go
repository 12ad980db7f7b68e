package mockprovider

import (
	"net/url"
	"testing"

	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2/clientcredentials"
)

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
