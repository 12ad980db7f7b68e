package mockprovider

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantbench/grantbench/oauth"
)

// exchangeConfig is an x/oauth2 client that sends an RFC 8693 token
// exchange: clientcredentials lets grant_type be overridden, and the
// exchange's parameters ride along as endpoint parameters.
func exchangeConfig(f *fixture, clientID, secret string, params url.Values) *clientcredentials.Config {
	p := url.Values{"grant_type": {TokenExchangeGrantURN}}
	for k, v := range params {
		p[k] = v
	}
	return &clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: f.url("/token"),
		EndpointParams: p, AuthStyle: oauth2.AuthStyleInHeader}
}

func serviceToken(t *testing.T, f *fixture, clientID, secret string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: f.url("/token"), Scopes: []string{"api.read"}}
	tok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestTokenExchange(t *testing.T) {
	f := newFixture(t, nil)
	// The subject: alice, through the code flow; the actor: the demo
	// client's own service token.
	conf := oauthConfig(f, "demo", "demo-secret", "openid", "api.read", "api.write")
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s1")
	userTok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	actor := serviceToken(t, f, "demo", "demo-secret")

	cc := exchangeConfig(f, "demo", "demo-secret", url.Values{
		"subject_token": {userTok.AccessToken}, "subject_token_type": {oauth.TokenTypeURNAccessToken},
		"actor_token": {actor}, "actor_token_type": {oauth.TokenTypeURNAccessToken},
		"audience": {"https://api.example", "https://other.example"}, "scope": {"api.read"},
	})
	tok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Extra("issued_token_type"); got != oauth.TokenTypeURNAccessToken || tok.TokenType != "Bearer" {
		t.Fatalf("issued_token_type %v token_type %q", got, tok.TokenType)
	}
	claims := verifyAccessToken(t, f, tok.AccessToken, jose.RS256)
	act, _ := claims["act"].(map[string]any)
	aud, _ := claims["aud"].([]any)
	if claims["sub"] != "alice" || act["sub"] != "demo" || claims["scope"] != "api.read" || claims["client_id"] != "demo" ||
		!slices.Equal(aud, []any{"https://api.example", "https://other.example"}) {
		t.Fatalf("claims %v", claims)
	}
	info := introspect(t, f, tok.AccessToken)
	if info["active"] != true || info["sub"] != "alice" {
		t.Fatalf("introspection of the exchanged token: %v", info)
	}

	// Exchanging the exchanged token with another actor nests the first
	// actor (RFC 8693 4.1); an ID token is a subject too.
	second := exchangeConfig(f, "demo", "demo-secret", url.Values{
		"subject_token": {tok.AccessToken}, "subject_token_type": {oauth.TokenTypeURNAccessToken},
		"actor_token": {userTok.Extra("id_token").(string)}, "actor_token_type": {oauth.TokenTypeURNIDToken},
		"requested_token_type": {oauth.TokenTypeURNJWT},
	})
	tok2, err := second.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	claims = verifyAccessToken(t, f, tok2.AccessToken, jose.RS256)
	act, _ = claims["act"].(map[string]any)
	prior, _ := act["act"].(map[string]any)
	if act["sub"] != "alice" || prior["sub"] != "demo" || tok2.Extra("issued_token_type") != oauth.TokenTypeURNJWT || claims["scope"] != "api.read" {
		t.Fatalf("second exchange: issued %v claims %v", tok2.Extra("issued_token_type"), claims)
	}

	// Revoking the user's grant revokes what was exchanged from it.
	if resp, _ := f.postForm(t, "/revoke", url.Values{"token": {userTok.RefreshToken}}, "demo", "demo-secret"); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if info := introspect(t, f, tok.AccessToken); info["active"] != false {
		t.Fatalf("the exchanged token survived the revocation of its subject's grant: %v", info)
	}
}

func TestTokenExchangeRefusals(t *testing.T) {
	f := newFixture(t, nil)
	subject := serviceToken(t, f, "demo", "demo-secret")
	valid := url.Values{"subject_token": {subject}, "subject_token_type": {oauth.TokenTypeURNAccessToken}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for name, vs := range valid {
			out[name] = vs
		}
		if v == "" {
			delete(out, k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	cases := []struct {
		name     string
		client   string
		secret   string
		params   url.Values
		wantCode oauth.ErrorCode
	}{
		{"client not allowed", "demo-legacy", "legacy-secret", valid, oauth.UnauthorizedClient},
		{"no subject_token", "demo", "demo-secret", with("subject_token", ""), oauth.InvalidRequest},
		{"no subject_token_type", "demo", "demo-secret", with("subject_token_type", ""), oauth.InvalidRequest},
		{"unknown subject token", "demo", "demo-secret", with("subject_token", "grantbench-unknown"), oauth.InvalidRequest},
		{"forged JWT subject", "demo", "demo-secret", with("subject_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0."), oauth.InvalidRequest},
		{"unsupported subject type", "demo", "demo-secret", with("subject_token_type", oauth.TokenTypeURNRefreshToken), oauth.InvalidRequest},
		{"actor token without type", "demo", "demo-secret", with("actor_token", subject), oauth.InvalidRequest},
		{"unsupported requested type", "demo", "demo-secret", with("requested_token_type", "urn:ietf:params:oauth:token-type:saml2"), oauth.InvalidRequest},
		{"scope wider than the subject's", "demo", "demo-secret", with("scope", "api.write"), oauth.InvalidScope},
		{"empty audience", "demo", "demo-secret", with("audience", " "), oauth.InvalidTarget},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := exchangeConfig(f, tc.client, tc.secret, tc.params).Token(testContext(t))
			if got := retrieveErrorCode(t, err); got != tc.wantCode {
				t.Fatalf("error %s, want %s", got, tc.wantCode)
			}
		})
	}
	t.Run("expired subject token", func(t *testing.T) {
		f.clock.Advance(2 * f.cfg.Lifetimes.AccessToken)
		_, err := exchangeConfig(f, "demo", "demo-secret", valid).Token(context.Background())
		if got := retrieveErrorCode(t, err); got != oauth.InvalidRequest {
			t.Fatalf("error %s, want invalid_request", got)
		}
	})
}

func TestTokenExchangeDiscovery(t *testing.T) {
	f := newFixture(t, nil)
	var md struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	resp, err := f.srv.Client().Get(f.url("/.well-known/openid-configuration"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &md); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(md.GrantTypes, TokenExchangeGrantURN) {
		t.Fatalf("grant_types_supported %v lacks token exchange", md.GrantTypes)
	}
}
