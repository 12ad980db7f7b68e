package mockprovider

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const testAssertionIssuer = "https://assertions.example"

// jwtBearerFixture trusts testAssertionIssuer's key for alice and bob's
// subject "b-sub" (api.read only), and a second issuer behind a jwks_uri
// for any subject, presented by demo only.
func jwtBearerFixture(t *testing.T, key testAssertionKey, jwksURI string) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		c.Users = append(c.Users, User{Username: "bob", Password: "bob-password", Subject: "b-sub"})
		c.TrustedIssuers = []TrustedIssuer{
			{Issuer: testAssertionIssuer, JWKS: key.jwks(), Subjects: []string{"alice", "b-sub"}, Scopes: []string{"api.read", "openid"},
				Audience: []string{"https://as.example/alias"}},
			{Issuer: "https://remote-issuer.example", JWKSURI: jwksURI, Subjects: []string{anySubject}, Clients: []string{"demo"}},
		}
		// demo-legacy stays without the grant: the unauthorized_client case.
	})
}

// bearerClaims are the claims of a well-formed jwt-bearer assertion at now.
func bearerClaims(iss, sub, aud string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "sub": sub, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": rand.Text()}
}

// bearerToken runs the jwt-bearer grant with x/oauth2 (clientcredentials
// lets grant_type be overridden, so the client authenticates as usual),
// as client with secret, asking for scopes.
func bearerToken(t *testing.T, f *fixture, client, secret, assertion string, scopes ...string) (*oauth2.Token, error) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: client, ClientSecret: secret, TokenURL: f.url("/token"), Scopes: scopes,
		// One style: auto-detection would resend a refused request, spending its jti.
		AuthStyle:      oauth2.AuthStyleInHeader,
		EndpointParams: url.Values{"grant_type": {JWTBearerGrantURN}, "assertion": {assertion}}}
	return cc.Token(testContext(t))
}

// wantRefused asserts that a token request failed with the RFC error code.
func wantRefused(t *testing.T, tok *oauth2.Token, err error, code oauth.ErrorCode) {
	t.Helper()
	if tok != nil && tok.AccessToken != "" {
		t.Fatalf("a token was issued, want %s", code)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want an OAuth error %s", err, code)
	}
	if re.ErrorCode != code.String() || re.Response.StatusCode != http.StatusBadRequest {
		t.Fatalf("got %d %s (%s), want 400 %s", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription, code)
	}
}

func TestJWTBearerGrant(t *testing.T) {
	key, remote := newTestAssertionKey(t, "k1"), newTestAssertionKey(t, "r1")
	keys := newKeysServer(t, remote)
	f := jwtBearerFixture(t, key, keys.srv.URL)
	now := f.clock.Now()
	for _, tc := range []struct {
		name, iss, sub, aud string
		signer              testAssertionKey
	}{
		{"aud the token endpoint", testAssertionIssuer, "alice", f.url("/token"), key},
		{"aud the issuer", testAssertionIssuer, "b-sub", f.cfg.Issuer, key},
		{"aud a configured alias", testAssertionIssuer, "alice", "https://as.example/alias", key},
		{"keys at a jwks_uri, any subject", "https://remote-issuer.example", "svc-42", f.url("/token"), remote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertion := signJWT(t, jose.ES256, tc.signer.signer, tc.signer.kid, bearerClaims(tc.iss, tc.sub, tc.aud, now))
			tok, err := bearerToken(t, f, "demo", "demo-secret", assertion, "api.read")
			if err != nil {
				t.Fatal(err)
			}
			claims := verifyAccessToken(t, f, tok.AccessToken, jose.SignatureAlgorithm(f.cfg.SigningAlg))
			if claims["sub"] != tc.sub || claims["client_id"] != "demo" || claims["scope"] != "api.read" {
				t.Fatalf("claims %v, want sub %s, client_id demo, scope api.read", claims, tc.sub)
			}
			if tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Fatal("the jwt-bearer grant issued a refresh token or an ID token")
			}
		})
	}
	t.Run("the user's claims go into the token", func(t *testing.T) {
		assertion := signJWT(t, jose.ES256, key.signer, key.kid, bearerClaims(testAssertionIssuer, "alice", f.url("/token"), now))
		tok, err := bearerToken(t, f, "demo", "demo-secret", assertion)
		if err != nil {
			t.Fatal(err)
		}
		// No scope asked: the client's default scopes the issuer allows.
		if got := tok.Extra("scope"); got != nil && got != "" {
			t.Fatalf("scope %v, want none (demo has no default scopes)", got)
		}
	})
	t.Run("discovery lists the grant", func(t *testing.T) {
		_, doc := doJSON(t, f.srv.Client(), mustRequest(t, http.MethodGet, f.url("/.well-known/oauth-authorization-server")))
		if !slices.Contains(toStrings(doc["grant_types_supported"]), JWTBearerGrantURN) {
			t.Fatalf("grant_types_supported %v", doc["grant_types_supported"])
		}
	})
}

// TestForgedJWTBearerRefused: every forged or misused assertion is refused
// with the error RFC 7523 3.1 and RFC 7521 4.1 name, and never a token.
func TestForgedJWTBearerRefused(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	other := newTestAssertionKey(t, "k1") // same kid, another key
	remote := newTestAssertionKey(t, "r1")
	keys := newKeysServer(t, remote)
	f := jwtBearerFixture(t, key, keys.srv.URL)
	now := f.clock.Now()
	tokenURL := f.url("/token")
	sign := func(mutate func(map[string]any)) string {
		c := bearerClaims(testAssertionIssuer, "alice", tokenURL, now)
		if mutate != nil {
			mutate(c)
		}
		return signJWT(t, jose.ES256, key.signer, key.kid, c)
	}
	replayed := sign(nil)
	if _, err := bearerToken(t, f, "demo", "demo-secret", replayed); err != nil {
		t.Fatalf("first use: %v", err)
	}
	for _, tc := range []struct {
		name      string
		client    string
		assertion string
		scopes    []string
		want      oauth.ErrorCode
	}{
		{"signed with another key", "demo", signJWT(t, jose.ES256, other.signer, other.kid, bearerClaims(testAssertionIssuer, "alice", tokenURL, now)), nil, oauth.InvalidGrant},
		{"signed with a key of another trusted issuer", "demo", signJWT(t, jose.ES256, remote.signer, key.kid, bearerClaims(testAssertionIssuer, "alice", tokenURL, now)), nil, oauth.InvalidGrant},
		{"HS256 with a guessed secret", "demo", signJWT(t, jose.HS256, []byte(testHMACSecret), "", bearerClaims(testAssertionIssuer, "alice", tokenURL, now)), nil, oauth.InvalidGrant},
		{"unsigned (alg none)", "demo", unsignedJWT(bearerClaims(testAssertionIssuer, "alice", tokenURL, now)), nil, oauth.InvalidGrant},
		{"expired", "demo", sign(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-4*time.Minute).Unix(), now.Add(-3*time.Minute).Unix()
		}), nil, oauth.InvalidGrant},
		{"no exp", "demo", sign(func(c map[string]any) { delete(c, "exp") }), nil, oauth.InvalidGrant},
		{"exp too far ahead", "demo", sign(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() }), nil, oauth.InvalidGrant},
		{"not valid yet (nbf)", "demo", sign(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }), nil, oauth.InvalidGrant},
		{"iat in the future", "demo", sign(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }), nil, oauth.InvalidGrant},
		{"replayed jti", "demo", replayed, nil, oauth.InvalidGrant},
		{"wrong aud", "demo", sign(func(c map[string]any) { c["aud"] = "https://elsewhere.example/token" }), nil, oauth.InvalidGrant},
		{"no aud", "demo", sign(func(c map[string]any) { delete(c, "aud") }), nil, oauth.InvalidGrant},
		{"a subject the issuer is not trusted for", "demo", sign(func(c map[string]any) { c["sub"] = "mallory" }), nil, oauth.InvalidGrant},
		{"no sub", "demo", sign(func(c map[string]any) { delete(c, "sub") }), nil, oauth.InvalidGrant},
		{"an untrusted iss", "demo", sign(func(c map[string]any) { c["iss"] = "https://evil.example" }), nil, oauth.InvalidGrant},
		{"not a JWT", "demo", "not-a-jwt", nil, oauth.InvalidGrant},
		{"an issuer trusted for another client only", "demo-private-key-jwt", "", nil, oauth.InvalidGrant},
		{"a scope wider than the issuer's", "demo", sign(nil), []string{"api.write"}, oauth.InvalidScope},
		{"a client not registered for the grant", "demo-legacy", sign(nil), nil, oauth.UnauthorizedClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := map[string]string{"demo": "demo-secret", "demo-legacy": "legacy-secret"}[tc.client]
			if tc.client == "demo-private-key-jwt" {
				// The second trusted issuer lists demo only; demo-legacy, a
				// secret client, gets the grant for this case.
				g := newFixture(t, func(c *Config) {
					c.Clients[2].GrantTypes = append(c.Clients[2].GrantTypes, GrantJWTBearer)
					c.TrustedIssuers = []TrustedIssuer{{Issuer: "https://remote-issuer.example", JWKS: remote.jwks(), Subjects: []string{anySubject}, Clients: []string{"demo"}}}
				})
				a := signJWT(t, jose.ES256, remote.signer, remote.kid, bearerClaims("https://remote-issuer.example", "svc", g.url("/token"), g.clock.Now()))
				tok, err := bearerToken(t, g, "demo-legacy", "legacy-secret", a)
				wantRefused(t, tok, err, tc.want)
				return
			}
			tok, err := bearerToken(t, f, tc.client, secret, tc.assertion, tc.scopes...)
			wantRefused(t, tok, err, tc.want)
		})
	}
	t.Run("assertion missing or repeated: invalid_request", func(t *testing.T) {
		for _, form := range []url.Values{
			{"grant_type": {JWTBearerGrantURN}},
			{"grant_type": {JWTBearerGrantURN}, "assertion": {""}},
			{"grant_type": {JWTBearerGrantURN}, "assertion": {sign(nil), sign(nil)}},
		} {
			resp, body := f.postForm(t, "/token", form, "demo", "demo-secret")
			wantOAuthError(t, resp, body, http.StatusBadRequest, oauth.InvalidRequest)
		}
	})
}

// TestJWTBearerReplayCacheFollowsClock: the jti of an accepted assertion is
// refused while the assertion lives, by the provider's clock, and its entry
// is swept once it expired.
func TestJWTBearerReplayCacheFollowsClock(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	f := jwtBearerFixture(t, key, "https://unused.example/jwks")
	now := f.clock.Now()
	c := bearerClaims(testAssertionIssuer, "alice", f.url("/token"), now)
	c["jti"] = "one-jti"
	if _, err := bearerToken(t, f, "demo", "demo-secret", signJWT(t, jose.ES256, key.signer, key.kid, c)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	c["iat"] = f.clock.Now().Unix() // another assertion, the same jti
	tok, err := bearerToken(t, f, "demo", "demo-secret", signJWT(t, jose.ES256, key.signer, key.kid, c))
	wantRefused(t, tok, err, oauth.InvalidGrant)
	if !strings.Contains(err.(*oauth2.RetrieveError).ErrorDescription, "replay") {
		t.Fatalf("description %q does not say replay", err.(*oauth2.RetrieveError).ErrorDescription)
	}
	f.clock.Advance(10 * time.Minute)
	later := bearerClaims(testAssertionIssuer, "alice", f.url("/token"), f.clock.Now())
	if _, err := bearerToken(t, f, "demo", "demo-secret", signJWT(t, jose.ES256, key.signer, key.kid, later)); err != nil {
		t.Fatal(err)
	}
	f.p.assertionReplay.mu.Lock()
	defer f.p.assertionReplay.mu.Unlock()
	if n := len(f.p.assertionReplay.seen); n != 1 {
		t.Fatalf("%d jti entries after the first assertion expired, want 1", n)
	}
}

func TestTrustedIssuerConfig(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"trusted_issuers: [{jwks_uri: https://k.example/jwks}]", "trusted_issuers[0].issuer"},
		{"trusted_issuers: [{issuer: a}]", "trusted_issuers[0].jwks"},
		{"trusted_issuers: [{issuer: a, jwks_uri: 'ftp://x'}]", "trusted_issuers[0].jwks_uri"},
		{"trusted_issuers: [{issuer: a, jwks_uri: https://k.example/jwks}, {issuer: a, jwks_uri: https://k.example/jwks}]", "trusted_issuers[1].issuer"},
		{"trusted_issuers: [{issuer: a, jwks_uri: https://k.example/jwks, clients: [nobody]}]", "trusted_issuers[0].clients[0]"},
		{"trusted_issuers: [{issuer: a, jwks_uri: https://k.example/jwks, scopes: [unknown]}]", "trusted_issuers[0].scopes[0]"},
		{"trusted_issuers: [{issuer: a, jwks_uri: https://k.example/jwks, subjects: ['']}]", "trusted_issuers[0].subjects[0]"},
		{"trusted_issuers: [{issuer: a, jwks: {keys: [{kty: oct, k: c2VjcmV0}]}}]", "trusted_issuers[0].jwks.keys[0]"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: error %v, want field %s", tc.yaml, err, tc.field)
		}
	}
	cfg, err := ParseConfig([]byte("clients: [{id: c, secret: s, grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer']}]"))
	if err != nil || !cfg.Clients[0].Allows(GrantJWTBearer) {
		t.Fatalf("the grant's URN is not read as jwt_bearer: %v %v", err, cfg.Clients)
	}
}

// unsignedJWT is an alg none JWT of claims.
func unsignedJWT(claims map[string]any) string {
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
}

// The demo keys whose public halves default.yaml registers: the private
// halves are public demo values (examples/targets/mock-*-key.jwk.json).
const (
	defaultAssertionIssuer = "https://demo-assertion-issuer.example"
	demoClientKeyJWK       = `{"use":"sig","kty":"EC","kid":"demo-client-key-1","crv":"P-256","alg":"ES256","x":"KKJ0xUiOerwb_gsP_aQTUOv06YoIuvntQ_scLJlNB7I","y":"9LM6cviShHVWsm4X_1emO6WHrnksP9lCJuk4wm-aytI","d":"_1yQ7tyNynlNj4CC3SqV-NvVvLiA1Oa1cX8F6T9Z2Is"}`
	demoIssuerKeyJWK       = `{"use":"sig","kty":"EC","kid":"demo-issuer-key-1","crv":"P-256","alg":"ES256","x":"nLlslr1kKGZThgLinfvrGYCZVxq24jv70ue001Gx5h8","y":"eoHlnsn057jpyyXYt3tPXB1RL_5057nT4OQspCi7hx0","d":"sTHhoLL8cJeLbAYFWYJu7Zkh9_SlVhUSioOtMDxrw94"}`
)

func demoKey(t testing.TB, jwk string) testAssertionKey {
	t.Helper()
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(jwk)); err != nil {
		t.Fatal(err)
	}
	return testAssertionKey{signer: k.Key.(crypto.Signer), alg: jose.ES256, kid: k.KeyID}
}

// TestDefaultConfigAssertionsWork: the default configuration's demo keys
// sign a jwt-bearer assertion and a private_key_jwt client assertion that
// the provider accepts, and a client_secret_jwt assertion with the demo
// client's secret.
func TestDefaultConfigAssertionsWork(t *testing.T) {
	f := newFixture(t, nil)
	now := f.clock.Now()
	issuer := demoKey(t, demoIssuerKeyJWK)
	tok, err := bearerToken(t, f, "demo", "demo-secret",
		signJWT(t, jose.ES256, issuer.signer, issuer.kid, bearerClaims(defaultAssertionIssuer, "alice", f.url("/token"), now)), "api.read")
	if err != nil {
		t.Fatalf("jwt-bearer: %v", err)
	}
	if sub := verifyAccessToken(t, f, tok.AccessToken, jose.SignatureAlgorithm(f.cfg.SigningAlg))["sub"]; sub != "alice" {
		t.Fatalf("sub %v", sub)
	}
	client := demoKey(t, demoClientKeyJWK)
	if _, err := assertionToken(t, f, "demo-private-key-jwt",
		signJWT(t, jose.ES256, client.signer, client.kid, clientAssertionClaims("demo-private-key-jwt", f.url("/token"), now))); err != nil {
		t.Fatalf("private_key_jwt: %v", err)
	}
	if _, err := assertionToken(t, f, "demo-client-secret-jwt",
		signJWT(t, jose.HS256, []byte("demo-client-secret-jwt-of-32-bytes-or-more"), "", clientAssertionClaims("demo-client-secret-jwt", f.url("/token"), now))); err != nil {
		t.Fatalf("client_secret_jwt: %v", err)
	}
}
