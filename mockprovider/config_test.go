package mockprovider

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SigningAlg != AlgRS256 || cfg.AccessTokenFormat != AccessTokenJWT || cfg.Lifetimes.AuthorizationCode != 60*time.Second ||
		cfg.Lifetimes.DevicePollInterval != 5*time.Second || cfg.Limits.MaxBodyBytes != 64<<10 {
		t.Fatalf("defaults %+v", cfg)
	}
	ids := []string{}
	for _, c := range cfg.Clients {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "demo,demo-public,demo-legacy,demo-fapi,demo-private-key-jwt,demo-client-secret-jwt" || cfg.Users[0].Username != "alice" {
		t.Fatalf("clients %v", ids)
	}
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a config without an issuer")
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"signing_alg: HS256", "signing_alg"},
		{"access_token_format: paseto", "access_token_format"},
		{"issuer: http://x/", "issuer"},
		{"issuer: ftp://x", "issuer"},
		{"lifetimes: {access_token: 0s}", "lifetimes.access_token"},
		{"lifetimes: {device_poll_interval: 1500ms}", "lifetimes.device_poll_interval"},
		{"limits: {max_body_bytes: 10}", "limits.max_body_bytes"},
		{"clients: []", "clients"},
		{"clients: [{id: a, secret: s, grant_types: [authorization_code], redirect_uris: [http://127.0.0.1/cb, 'http://x/cb#f']}]", "clients[0].redirect_uris[1]"},
		{"clients: [{id: a, secret: s, grant_types: [client_credentials]}, {id: b, public: true, grant_types: [client_credentials]}]", "clients[1].grant_types[0]"},
		{"clients: [{id: a, grant_types: [client_credentials]}]", "clients[0].secret"},
		{"clients: [{id: a, secret: s, grant_types: [magic]}]", "clients[0].grant_types[0]"},
		{"clients: [{id: a, secret: s, grant_types: [client_credentials], scopes: [nope]}]", "clients[0].scopes[0]"},
		{"clients: [{id: a, secret: s, grant_types: [implicit]}]", "clients[0].redirect_uris"},
		{"clients: [{id: a, secret: s, grant_types: [client_credentials]}, {id: a, secret: s, grant_types: [client_credentials]}]", "clients[1].id"},
		{"users: [{username: bob}]", "users[0].password"},
		{"users: [{username: bob, password: x, claims: {sub: root}}]", "users[0].claims.sub"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v, want an error naming %s", tc.yaml, err, tc.field)
		}
	}
	if _, err := ParseConfig([]byte("unknown_field: 1")); err == nil || !strings.Contains(err.Error(), "unknown_field") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestLoadConfigOverridesDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	data := "signing_alg: ES256\nlifetimes:\n  access_token: 5m\nclients:\n  - id: svc\n    secret: s3cret\n    grant_types: [urn:ietf:params:oauth:grant-type:device_code]\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SigningAlg != AlgES256 || cfg.Lifetimes.AccessToken != 5*time.Minute || cfg.Lifetimes.RefreshToken != 24*time.Hour ||
		len(cfg.Clients) != 1 || cfg.Clients[0].GrantTypes[0] != GrantDeviceCode || len(cfg.Users) != 1 {
		t.Fatalf("loaded %+v", cfg)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
}
