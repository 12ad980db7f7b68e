package flows

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMockPushedAuthorizationWithPrivateKeyJWT runs the code flow as the
// mock's demo-fapi client: a private_key_jwt assertion at the PAR endpoint,
// the front channel with client_id and request_uri only, and another fresh
// assertion at the token endpoint and for the refresh.
func TestMockPushedAuthorizationWithPrivateKeyJWT(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	res, err := AuthCode(ctx, tg, AuthCodeOptions{Role: RoleFAPI, Scopes: []string{"openid", "offline_access", "api.read"}})
	if err != nil {
		t.Fatalf("code flow: %v (steps %v)", err, stepNames(res.Trace))
	}
	if got := stepNames(res.Trace); !slices.Equal(got[:2], []string{"par", "authorize"}) || got[len(got)-1] != "token" {
		t.Errorf("steps %v, want par, authorize, ..., token", got)
	}
	front, err := url.Parse(res.Authorization.URL)
	if err != nil {
		t.Fatal(err)
	}
	if q := front.Query(); len(q) != 2 || q.Get("client_id") != "demo-fapi" || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Errorf("front-channel request %v, want client_id and request_uri only", q)
	}
	if res.Token.AccessToken == "" || res.Token.RefreshToken == "" {
		t.Fatalf("token %+v", res.Token)
	}
	refreshed, err := Refresh(ctx, tg, RoleFAPI, res.Token.RefreshToken, RefreshOptions{})
	if err != nil || refreshed.Token.AccessToken == "" {
		t.Fatalf("refresh as a private_key_jwt client: %v", err)
	}

	// The same client without PAR: the mock requires it of demo-fapi.
	tg.Clients.FAPI.PAR = false
	_, err = AuthCode(ctx, tg, AuthCodeOptions{Role: RoleFAPI, Scopes: []string{"openid"}})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Step != "authorize" || oe.Code != "invalid_request" {
		t.Errorf("a plain request of a PAR client: %v", err)
	}
}

// TestMockPushedAuthorizationErrors: PAR refusals come back as OAuth errors
// of step par, and assertions follow the provider's (moved) clock.
func TestMockPushedAuthorizationErrors(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	// The provider's clock two hours ahead: assertions dated by ours would
	// have expired there.
	admin, err := tg.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.AdvanceClock(ctx, 2*60*60*1e9); err != nil {
		t.Fatal(err)
	}
	if _, _, err := PushAuthorization(ctx, tg, RoleFAPI, url.Values{"response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {"http://127.0.0.1:1/callback"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}); err != nil {
		t.Fatalf("a well-formed push after the clock moved: %v", err)
	}
	_, res, err := PushAuthorization(ctx, tg, RoleFAPI, url.Values{"response_type": {"code"}, "redirect_uri": {"https://attacker.invalid/cb"}})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Step != "par" || oe.Code != "invalid_request" || oe.Status != 400 {
		t.Fatalf("unregistered redirect_uri: %v", err)
	}
	if len(res.Exchanges) != 1 || res.Exchanges[0].Step != "par" || !strings.Contains(res.Exchanges[0].RequestBody, "client_assertion=") {
		t.Errorf("the recorded push: %d exchanges", len(res.Exchanges))
	}
	tg.Clients.Confidential.PAR = true // demo may push too, with client_secret_basic
	if _, err := AuthCode(ctx, tg, AuthCodeOptions{Scopes: []string{"openid"}}); err != nil {
		t.Fatalf("PAR with client_secret_basic: %v", err)
	}
}

func TestProfilePrivateKeyJWT(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "client.jwk")
	if err := os.WriteFile(key, []byte(mockFAPIClientKeyJWK), 0o600); err != nil {
		t.Fatal(err)
	}
	pub := MockFAPIClientKey().Public()
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public.jwk"), pubJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "issuer: https://idp.example\nclients:\n  fapi:\n    client_id: c\n    auth_method: private_key_jwt\n"
	for _, tc := range []struct{ extra, field string }{
		{"", "clients.fapi.key_file"},
		{"    key_file: client.jwk\n    client_secret: s\n", "clients.fapi.client_secret"},
		{"    key_file: missing.jwk\n", "clients.fapi.key_file"},
		{"    key_file: public.jwk\n", "clients.fapi.key_file"},
	} {
		path := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(path, []byte(base+tc.extra), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadTarget(path)
		var pe *ProfileError
		if !errors.As(err, &pe) || pe.Field != tc.field {
			t.Errorf("%q: %v, want a ProfileError on %s", tc.extra, err, tc.field)
		}
	}
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(base+"    key_file: client.jwk\n    par: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := LoadTarget(path)
	if err != nil {
		t.Fatal(err)
	}
	c := tg.Clients.FAPI
	if c.Key == nil || c.Key.KeyID != "demo-fapi-1" || !c.PAR {
		t.Fatalf("loaded client %+v", c)
	}
	if _, err := ParseTarget([]byte("issuer: https://idp.example\nclients:\n  confidential:\n    client_id: c\n    client_secret: s\n    assertion_audience: x\n")); err == nil {
		t.Error("assertion_audience accepted for a secret client")
	}
}
