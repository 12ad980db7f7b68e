package mockprovider

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// claimsConfig gives alice roles and a nested object, and the demo client
// extra access and ID token claims and an audience, as YAML would.
func claimsConfig(t *testing.T) func(*Config) {
	t.Helper()
	parsed, err := ParseConfig([]byte(`
clients:
  - id: demo
    secret: demo-secret
    grant_types: [authorization_code, refresh_token, client_credentials]
    redirect_uris: [http://127.0.0.1/callback]
    scopes: [openid, profile, email, offline_access, api.read, api.write]
    audience: [https://api.example, https://other.example]
    access_token_claims: {tenant: acme, limits: {rps: 5, burst: [1, 2]}}
    id_token_claims: {department: research}
users:
  - username: alice
    password: wonderland
    claims:
      name: Alice Liddell
      email: alice@example.com
      roles: [admin, reader]
      org: {id: 7, units: [{name: rabbit-hole}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Clients, c.Users = parsed.Clients, parsed.Users }
}

// aliceTokens runs the code flow for alice with x/oauth2 and returns the
// tokens and the verified ID token (go-oidc).
func aliceTokens(t *testing.T, f *fixture, scopes ...string) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", scopes...)
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s")
	tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return tok, verifyWithOIDC(t, f, raw, "demo")
}

func verifyWithOIDC(t *testing.T, f *fixture, raw, clientID string) *oidc.IDToken {
	t.Helper()
	ctx := oidc.InsecureIssuerURLContext(testContext(t), f.cfg.Issuer)
	ctx = oidc.ClientContext(ctx, f.srv.Client())
	provider, err := oidc.NewProvider(ctx, f.cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	id, err := provider.VerifierContext(ctx, &oidc.Config{ClientID: clientID, Now: f.p.now,
		SupportedSigningAlgs: []string{f.cfg.SigningAlg}}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	return id
}

func claimsOf(t *testing.T, id *oidc.IDToken) map[string]any {
	t.Helper()
	var m map[string]any
	if err := id.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonEqual(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, w)
}

func TestUserClaimsNestedAndArrays(t *testing.T) {
	f := newFixture(t, claimsConfig(t))
	tok, id := aliceTokens(t, f, "openid", "api.read")
	claims := claimsOf(t, id)
	if !jsonEqual(t, claims["roles"], `["admin","reader"]`) || !jsonEqual(t, claims["org"], `{"id":7,"units":[{"name":"rabbit-hole"}]}`) {
		t.Errorf("ID token lacks the user's roles and org: %v", claims)
	}
	if _, ok := claims["email"]; ok {
		t.Error("email released without the email scope")
	}
	access := verifyAccessToken(t, f, tok.AccessToken, jose.RS256)
	if !jsonEqual(t, access["roles"], `["admin","reader"]`) {
		t.Errorf("access token lacks the user's roles: %v", access)
	}
	req, _ := http.NewRequest(http.MethodGet, f.url("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if _, info := doJSON(t, f.srv.Client(), req); !jsonEqual(t, info["org"], `{"id":7,"units":[{"name":"rabbit-hole"}]}`) {
		t.Errorf("userinfo lacks org: %v", info)
	}
}

func TestClientConfiguredClaimsAndAudience(t *testing.T) {
	f := newFixture(t, claimsConfig(t))
	tok, id := aliceTokens(t, f, "openid")
	if claimsOf(t, id)["department"] != "research" {
		t.Errorf("ID token lacks the client's id_token_claims: %v", claimsOf(t, id))
	}
	access := verifyAccessToken(t, f, tok.AccessToken, jose.RS256)
	if !jsonEqual(t, access["aud"], `["https://api.example","https://other.example"]`) ||
		access["tenant"] != "acme" || !jsonEqual(t, access["limits"], `{"rps":5,"burst":[1,2]}`) {
		t.Errorf("access token: %v", access)
	}
	if _, ok := access["department"]; ok {
		t.Error("an id_token_claims claim went into the access token")
	}
	cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}
	ccTok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := verifyAccessToken(t, f, ccTok.AccessToken, jose.RS256); got["tenant"] != "acme" || got["roles"] != nil {
		t.Errorf("client_credentials token: %v", got)
	}
}

func TestConfiguredClaimsRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"clients: [{id: c, secret: s, grant_types: [client_credentials], access_token_claims: {exp: 1}}]", "clients[0].access_token_claims.exp"},
		{"clients: [{id: c, secret: s, grant_types: [client_credentials], id_token_claims: {nonce: x}}]", "clients[0].id_token_claims.nonce"},
		{`clients: [{id: c, secret: s, grant_types: [client_credentials], audience: [""]}]`, "clients[0].audience[0]"},
		{"users: [{username: bob, password: x, claims: {iss: x}}]", "users[0].claims.iss"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v, want an error naming %s", tc.yaml, err, tc.field)
		}
	}
}

func TestAdminClaimsOverrideOneShot(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	resp, body := adminCall(t, f, http.MethodPost, "/admin/claims", testAdminToken, `{"user": "alice",
		"access_token": {"roles": ["admin"], "aud": "https://api.example", "scope": null},
		"id_token": {"acr": "urn:mace:incommon:iap:silver", "groups": [{"id": 1}]},
		"access_token_header": {"kid": "rotated-away"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /admin/claims: %d %v", resp.StatusCode, body)
	}
	tok, id := aliceTokens(t, f, "openid", "api.read")
	claims := claimsOf(t, id)
	if claims["acr"] != "urn:mace:incommon:iap:silver" || !jsonEqual(t, claims["groups"], `[{"id":1}]`) {
		t.Errorf("ID token not overridden: %v", claims)
	}
	access := jwtPart(t, tok.AccessToken, 1)
	if !jsonEqual(t, access["roles"], `["admin"]`) || access["aud"] != "https://api.example" || access["scope"] != nil || access["sub"] != "alice" {
		t.Errorf("access token not overridden: %v", access)
	}
	if kid := jwtPart(t, tok.AccessToken, 0)["kid"]; kid != "rotated-away" {
		t.Errorf("kid = %v, want the override", kid)
	}
	// One-shot: the next tokens are the ordinary ones, and nothing is left.
	tok, id = aliceTokens(t, f, "openid", "api.read")
	if claimsOf(t, id)["acr"] != nil || verifyAccessToken(t, f, tok.AccessToken, jose.RS256)["roles"] != nil {
		t.Error("a one-shot override applied twice")
	}
	if _, body := adminCall(t, f, http.MethodGet, "/admin/claims", testAdminToken, ""); len(body["overrides"].([]any)) != 0 {
		t.Errorf("spent override still listed: %v", body)
	}
}

func TestAdminClaimsOverrideStickyPerClient(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	if err := f.p.AddClaimsOverride(ClaimsOverride{ClientID: "demo", Sticky: true,
		AccessToken: map[string]any{"tier": "gold"}, AccessTokenHeader: map[string]string{"typ": "JWT"}}); err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}
	for range 3 {
		tok, err := cc.Token(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if jwtPart(t, tok.AccessToken, 1)["tier"] != "gold" || jwtPart(t, tok.AccessToken, 0)["typ"] != "JWT" {
			t.Fatalf("sticky override missing: %v %v", jwtPart(t, tok.AccessToken, 0), jwtPart(t, tok.AccessToken, 1))
		}
	}
	// Another client and another user are untouched.
	legacy := oauthConfig(f, "demo-legacy", "legacy-secret", "api.read")
	tok, err := legacy.PasswordCredentialsToken(testContext(t), "alice", "wonderland")
	if err != nil {
		t.Fatal(err)
	}
	if verifyAccessToken(t, f, tok.AccessToken, jose.RS256)["tier"] != nil {
		t.Error("override for demo bent demo-legacy's token")
	}
	if resp, _ := adminCall(t, f, http.MethodDelete, "/admin/claims", testAdminToken, ""); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	tok, err = cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if verifyAccessToken(t, f, tok.AccessToken, jose.RS256)["tier"] != nil {
		t.Error("override survived DELETE /admin/claims")
	}
}

func TestAdminClaimsOverrideBadInput(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	for body, field := range map[string]string{
		`{}`: "access_token",
		`{"client_id": "nobody", "access_token": {"a": 1}}`: "client_id",
		`{"access_token_header": {"alg": "none"}}`:          "access_token_header.alg",
		`{"id_token_header": {"kid": ""}}`:                  "id_token_header.kid",
		`{"access_token": {"a": 1}, "colour": "red"}`:       "colour",
		`{"sticky": "yes"}`:                                 "sticky",
		`not json`:                                          "body",
	} {
		resp, got := adminCall(t, f, http.MethodPost, "/admin/claims", testAdminToken, body)
		if resp.StatusCode != http.StatusBadRequest || got["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming %s", body, resp.StatusCode, got, field)
		}
	}
	for range MaxClaimsOverrides {
		if err := f.p.AddClaimsOverride(ClaimsOverride{User: "nobody", IDToken: map[string]any{"x": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	var re *RequestError
	if err := f.p.AddClaimsOverride(ClaimsOverride{IDToken: map[string]any{"x": 1}}); !errors.As(err, &re) {
		t.Fatalf("override %d accepted: %v", MaxClaimsOverrides+1, err)
	}
	f.p.ClearClaimsOverrides()
	if n := len(f.p.ClaimsOverrides()); n != 0 {
		t.Fatalf("%d overrides after clearing", n)
	}
}

func TestAdminMintsAccessToken(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	resp, body := adminCall(t, f, http.MethodPost, "/admin/tokens", testAdminToken, `{"subject": "svc-42",
		"client_id": "demo", "audience": "https://api.example", "scopes": ["api.read", "api.write"],
		"claims": {"roles": ["admin"], "nbf": null}, "lifetime": "5m"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	token, _ := body["token"].(string)
	if exp, _ := body["expires_at"].(float64); int64(exp) != testStart.Add(5*time.Minute).Unix() {
		t.Errorf("expires_at = %v", body["expires_at"])
	}
	claims := verifyAccessToken(t, f, token, jose.RS256)
	if claims["sub"] != "svc-42" || claims["aud"] != "https://api.example" || claims["scope"] != "api.read api.write" ||
		claims["iss"] != f.cfg.Issuer || !jsonEqual(t, claims["roles"], `["admin"]`) || claims["nbf"] != nil {
		t.Errorf("claims %v", claims)
	}
	// A registered client's minted token is known to introspection.
	if got := introspect(t, f, token); got["active"] != true || got["scope"] != "api.read api.write" {
		t.Errorf("introspection of a minted token: %v", got)
	}
	f.clock.Advance(6 * time.Minute)
	if introspect(t, f, token)["active"] != false {
		t.Error("minted token active past its lifetime")
	}
}

func TestAdminMintsIDToken(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SigningAlg = AlgES256 })
	minted, err := f.p.MintToken(MintRequest{Type: MintIDToken, Subject: "bob", ClientID: "demo-public",
		Claims: map[string]any{"email": "bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	id := verifyWithOIDC(t, f, minted.Token, "demo-public")
	if c := claimsOf(t, id); id.Subject != "bob" || c["email"] != "bob@example.com" || c["azp"] != "demo-public" {
		t.Errorf("ID token claims %v", c)
	}
	if !minted.ExpiresAt.Equal(testStart.Add(f.cfg.Lifetimes.IDToken)) {
		t.Errorf("expires %v", minted.ExpiresAt)
	}
}

// TestMintedHeaderKidUnknownToVerifiers: a kid the JWKS does not publish
// makes go-oidc refuse the token, as a resource server should.
func TestMintedHeaderKidUnknownToVerifiers(t *testing.T) {
	f := newFixture(t, nil)
	minted, err := f.p.MintToken(MintRequest{Type: MintIDToken, Subject: "bob", ClientID: "demo",
		Header: map[string]string{HeaderKID: "k-unpublished", HeaderTyp: "id+jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	if h := jwtPart(t, minted.Token, 0); h["kid"] != "k-unpublished" || h["typ"] != "id+jwt" {
		t.Fatalf("header %v", h)
	}
	ctx := oidc.ClientContext(testContext(t), f.srv.Client())
	keys := oidc.NewRemoteKeySet(ctx, f.url("/jwks"))
	if _, err := keys.VerifySignature(ctx, minted.Token); err == nil {
		t.Fatal("a token with an unpublished kid verified")
	}
}

func TestAdminMintsBadInput(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	for body, field := range map[string]string{
		`{}`:                                          "subject",
		`{"subject": "a", "type": "refresh"}`:         "type",
		`{"subject": "a", "lifetime": "soon"}`:        "lifetime",
		`{"subject": "a", "lifetime": "-5m"}`:         "lifetime",
		`{"subject": "a", "lifetime": 300}`:           "lifetime",
		`{"subject": "a", "audience": 7}`:             "audience",
		`{"subject": "a", "scopes": [1]}`:             "scopes",
		`{"subject": "a", "scopes": ["a\"b"]}`:        "scopes[0]",
		`{"subject": "a", "header": {"x5u": "http"}}`: "header.x5u",
		`{"subject": "a", "claims": []}`:              "claims",
		`{"subject": "a", "extra": 1}`:                "extra",
		`[`:                                           "body",
	} {
		resp, got := adminCall(t, f, http.MethodPost, "/admin/tokens", testAdminToken, body)
		if resp.StatusCode != http.StatusBadRequest || got["field"] != field || !strings.HasPrefix(got["error"].(string), field) {
			t.Errorf("%s: %d %v, want 400 naming %s", body, resp.StatusCode, got, field)
		}
	}
	if resp, _ := adminCall(t, f, http.MethodPost, "/admin/tokens", "wrong-token", `{"subject": "a"}`); resp.StatusCode != 401 {
		t.Errorf("minting without the admin token: %d", resp.StatusCode)
	}
}
