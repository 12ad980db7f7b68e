package mockprovider

import (
	"crypto"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

// fapi2Fixture runs the default configuration under the fapi2 profile, with
// demo-fapi's keys replaced by key and a second private_key_jwt client,
// "fapi-legacy", registered for password and implicit (which the profile
// must refuse) with an RS256 key (which it must refuse too).
func fapi2Fixture(t *testing.T, key, rsaKey testAssertionKey) *fixture {
	t.Helper()
	return parFixture(t, key, func(c *Config) {
		c.Profile = ProfileFAPI2
		c.SigningAlg = AlgES256 // what the profile makes it; the fixture picks its key by it
		c.Lifetimes.AuthorizationCode = 10 * time.Minute
		set := key.jwks()
		set.Keys = append(set.Keys, rsaKey.jwks().Keys...)
		c.Clients = append(c.Clients, Client{ID: "fapi-legacy", TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKS: set,
			GrantTypes: []string{GrantAuthorizationCode, GrantPassword, GrantImplicit}, RedirectURIs: []string{"http://127.0.0.1/callback"},
			Scopes: []string{"openid"}})
	})
}

func TestFAPI2ProfileMetadata(t *testing.T) {
	rsaSigner := mustTestKey(t, AlgRS256)
	f := fapi2Fixture(t, newTestAssertionKey(t, "k1"), testAssertionKey{signer: rsaSigner, alg: jose.RS256, kid: "rsa1"})
	var md map[string]any
	resp, err := http.Get(f.url("/.well-known/openid-configuration"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &md); err != nil {
		t.Fatal(err)
	}
	strs := func(name string) []string {
		var out []string
		for _, v := range md[name].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	for name, want := range map[string][]string{
		"token_endpoint_auth_methods_supported":            {AuthPrivateKeyJWT},
		"token_endpoint_auth_signing_alg_values_supported": {"ES256", "PS256"},
		"id_token_signing_alg_values_supported":            {"ES256"},
		"response_types_supported":                         {"code"},
	} {
		if got := strs(name); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if grants := strs("grant_types_supported"); slices.Contains(grants, GrantPassword) || slices.Contains(grants, GrantImplicit) {
		t.Errorf("grant_types_supported = %v", grants)
	}
	if md["require_pushed_authorization_requests"] != true {
		t.Errorf("require_pushed_authorization_requests = %v", md["require_pushed_authorization_requests"])
	}
}

func TestFAPI2ProfileFlow(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	rsaKey := testAssertionKey{signer: mustTestKey(t, AlgRS256), alg: jose.RS256, kid: "rsa1"}
	f := fapi2Fixture(t, key, rsaKey)
	ctx := testContext(t)
	conf := oauthConfig(f, "demo-fapi", "", "openid")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	push := func(t *testing.T, clientID string, k testAssertionKey, params url.Values) (*http.Response, map[string]any) {
		t.Helper()
		form := pushedAuthorization(t, conf, "s", oauth2.GenerateVerifier())
		form.Set("client_id", clientID)
		for name, v := range params {
			form[name] = v
		}
		form.Set("client_assertion_type", ClientAssertionTypeJWT)
		form.Set("client_assertion", signJWT(t, k.alg, k.signer, k.kid, clientAssertionClaims(clientID, f.cfg.Issuer, f.clock.Now())))
		return f.push(t, form, "", "")
	}
	assertionParams := func() []oauth2.AuthCodeOption {
		raw := signJWT(t, key.alg, key.signer, key.kid, clientAssertionClaims("demo-fapi", f.cfg.Issuer, f.clock.Now()))
		return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("client_assertion_type", ClientAssertionTypeJWT),
			oauth2.SetAuthURLParam("client_assertion", raw)}
	}

	t.Run("private_key_jwt with ES256: PAR, code, tokens", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		form := pushedAuthorization(t, conf, "s", verifier)
		form.Set("client_assertion_type", ClientAssertionTypeJWT)
		form.Set("client_assertion", signJWT(t, key.alg, key.signer, key.kid, clientAssertionClaims("demo-fapi", f.cfg.Issuer, f.clock.Now())))
		uri := f.wantRequestURI(t, form, "", "")
		loc := newBrowser(t, f).authorize(f.authorizeWithRequestURI("demo-fapi", uri), "approve")
		tok, err := conf.Exchange(ctx, loc.Query().Get("code"), append(assertionParams(), oauth2.VerifierOption(verifier))...)
		if err != nil {
			t.Fatal(err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		verifyIDToken(t, f, rawID, "demo-fapi", jose.ES256)
	})
	t.Run("codes live at most 60 s", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		form := pushedAuthorization(t, conf, "s", verifier)
		form.Set("client_assertion_type", ClientAssertionTypeJWT)
		form.Set("client_assertion", signJWT(t, key.alg, key.signer, key.kid, clientAssertionClaims("demo-fapi", f.cfg.Issuer, f.clock.Now())))
		uri := f.wantRequestURI(t, form, "", "")
		loc := newBrowser(t, f).authorize(f.authorizeWithRequestURI("demo-fapi", uri), "approve")
		f.clock.Advance(fapi2MaxCodeLifetime)
		_, err := conf.Exchange(ctx, loc.Query().Get("code"), append(assertionParams(), oauth2.VerifierOption(verifier))...)
		if code := retrieveErrorCode(t, err); code != oauth.InvalidGrant {
			t.Fatalf("a 60 s old code: %s, want invalid_grant", code)
		}
	})
	t.Run("secrets and public clients refused", func(t *testing.T) {
		form := pushedAuthorization(t, conf, "s", oauth2.GenerateVerifier())
		form.Set("client_id", "demo")
		resp, body := f.push(t, form, "demo", "demo-secret")
		wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
		form.Set("client_id", "demo-public")
		resp, body = f.push(t, form, "", "")
		wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
		cc := oauthConfig(f, "demo", "demo-secret")
		if _, err := cc.PasswordCredentialsToken(ctx, "alice", "wonderland"); retrieveErrorCode(t, err) != oauth.InvalidClient {
			t.Fatalf("a client secret at the token endpoint: %v", err)
		}
	})
	t.Run("RS256 assertions refused", func(t *testing.T) {
		resp, body := push(t, "fapi-legacy", rsaKey, nil)
		wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
		resp, body = push(t, "fapi-legacy", key, url.Values{"scope": {"openid"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("the same client with ES256: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("no implicit and no password", func(t *testing.T) {
		resp, body := push(t, "fapi-legacy", key, url.Values{"response_type": {"token"}, "scope": {"openid"}})
		wantOAuthError(t, resp, body, http.StatusBadRequest, oauth.UnauthorizedClient)
		raw := signJWT(t, key.alg, key.signer, key.kid, clientAssertionClaims("fapi-legacy", f.cfg.Issuer, f.clock.Now()))
		resp, body = f.postForm(t, "/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"},
			"client_id": {"fapi-legacy"}, "client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {raw}}, "", "")
		wantOAuthError(t, resp, body, http.StatusBadRequest, oauth.UnauthorizedClient)
	})
	t.Run("no authorization without PAR", func(t *testing.T) {
		plain := oauthConfig(f, "demo", "demo-secret", "openid")
		loc := newBrowser(t, f).authorize(plain.AuthCodeURL("s"), "approve")
		if loc.Query().Get("error") != oauth.InvalidRequest.String() {
			t.Fatalf("a plain authorization request: %v", loc.Query())
		}
	})
}

func TestProfileNameChecked(t *testing.T) {
	_, err := ParseConfig([]byte("profile: fapi1\n"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "profile" {
		t.Fatalf("err = %v, want a FieldError on profile", err)
	}
	cfg, err := ParseConfig([]byte("profile: fapi2\n"))
	if err != nil || cfg.Profile != ProfileFAPI2 {
		t.Fatalf("profile: fapi2: %v %q", err, cfg.Profile)
	}
}

func mustTestKey(t *testing.T, alg string) crypto.Signer {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys[alg]
}
