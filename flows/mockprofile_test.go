package flows

import (
	"crypto/ecdsa"
	"slices"
	"testing"
	"time"

	"github.com/grantbench/grantbench/mockprovider"
)

// The mock's profile is written down twice: mockprovider/default.yaml is the
// source (what the provider registers), MockTarget is what the suites and the
// load runner are told about it, and examples/targets/mock.yaml is checked
// against MockTarget in target_test.go. flows' own code does not import
// mockprovider (flows is the client side, used against any provider); its tests
// may, since mockprovider depends on nothing of flows. This test fails when
// default.yaml and MockTarget drift apart.
func TestMockTargetAgreesWithTheMocksDefaultConfig(t *testing.T) {
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	target := MockTarget("http://127.0.0.1:9000", "admin-token")

	registered := func(id string) *mockprovider.Client {
		for i := range cfg.Clients {
			if cfg.Clients[i].ID == id {
				return &cfg.Clients[i]
			}
		}
		return nil
	}
	roles := []struct {
		role   string
		client *Client
		grants []string // grant types the role is used for
	}{
		{"confidential", target.Clients.Confidential, []string{"authorization_code", "refresh_token", "client_credentials"}},
		{"public", target.Clients.Public, []string{"authorization_code", "refresh_token"}},
		{"device", target.Clients.Device, []string{"device_code"}},
		{"legacy", target.Clients.Legacy, []string{"password", "implicit", "refresh_token"}},
		{"other", target.Clients.Other, nil}, // any registered client: the cross-client checks only present it
		{"fapi", target.Clients.FAPI, []string{"authorization_code", "refresh_token"}},
	}
	for _, r := range roles {
		if r.client == nil {
			t.Errorf("%s: MockTarget has no client", r.role)
			continue
		}
		reg := registered(r.client.ClientID)
		if reg == nil {
			t.Errorf("%s: client %q is not in default.yaml", r.role, r.client.ClientID)
			continue
		}
		if reg.Secret != r.client.ClientSecret {
			t.Errorf("%s: client %q has secret %q in MockTarget, %q in default.yaml", r.role, reg.ID, r.client.ClientSecret, reg.Secret)
		}
		if reg.Public != (r.client.AuthMethod == AuthNone) {
			t.Errorf("%s: client %q: auth method %q but public=%v in default.yaml", r.role, reg.ID, r.client.AuthMethod, reg.Public)
		}
		if r.client.RedirectURI != "" && !slices.Contains(reg.RedirectURIs, r.client.RedirectURI) {
			t.Errorf("%s: redirect URI %q is not registered for %q (%v)", r.role, r.client.RedirectURI, reg.ID, reg.RedirectURIs)
		}
		for _, s := range r.client.Scopes {
			if !slices.Contains(reg.Scopes, s) {
				t.Errorf("%s: scope %q is not allowed to %q in default.yaml (%v)", r.role, s, reg.ID, reg.Scopes)
			}
		}
		for _, g := range r.grants {
			if !reg.Allows(g) {
				t.Errorf("%s: client %q may not use the %s grant in default.yaml (%v)", r.role, reg.ID, g, reg.GrantTypes)
			}
		}
	}

	// The FAPI client signs with the key whose public half default.yaml
	// registers, and says PAR is required where the registration does.
	if fapi, reg := target.Clients.FAPI, registered(target.Clients.FAPI.ClientID); reg != nil {
		if reg.TokenEndpointAuthMethod != string(AuthPrivateKeyJWT) || fapi.AuthMethod != AuthPrivateKeyJWT {
			t.Errorf("fapi: auth method %q in MockTarget, %q in default.yaml", fapi.AuthMethod, reg.TokenEndpointAuthMethod)
		}
		if reg.RequirePushedAuthorizationRequests != fapi.PARRequired || !fapi.PAR {
			t.Errorf("fapi: par %v par_required %v, default.yaml require_pushed_authorization_requests %v", fapi.PAR, fapi.PARRequired, reg.RequirePushedAuthorizationRequests)
		}
		pub := fapi.Key.Public()
		if reg.JWKS == nil || len(reg.JWKS.Keys) != 1 || reg.JWKS.Keys[0].KeyID != pub.KeyID ||
			!reg.JWKS.Keys[0].Key.(*ecdsa.PublicKey).Equal(pub.Key) {
			t.Errorf("fapi: MockFAPIClientKey's public half is not default.yaml's demo-fapi key")
		}
	}

	if !slices.ContainsFunc(cfg.Users, func(u mockprovider.User) bool {
		return u.Username == target.User.Username && u.Password == target.User.Password
	}) {
		t.Errorf("user %q with MockTarget's password is not in default.yaml", target.User.Username)
	}

	lifetimes := []struct {
		name         string
		target, mock time.Duration
	}{
		{"access token", target.Lifetimes.AccessToken, cfg.Lifetimes.AccessToken},
		{"refresh token", target.Lifetimes.RefreshToken, cfg.Lifetimes.RefreshToken},
		{"code", target.Lifetimes.Code, cfg.Lifetimes.AuthorizationCode},
		{"device code", target.Lifetimes.DeviceCode, cfg.Lifetimes.DeviceCode},
		{"ID token", target.Lifetimes.IDToken, cfg.Lifetimes.IDToken},
	}
	for _, l := range lifetimes {
		if l.target != l.mock {
			t.Errorf("%s lifetime: %v in MockTarget, %v in default.yaml", l.name, l.target, l.mock)
		}
	}
}
