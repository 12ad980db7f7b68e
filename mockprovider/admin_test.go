package mockprovider

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2/clientcredentials"
)

const testAdminToken = "test-admin-token"

func adminCall(t *testing.T, f *fixture, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.url(path), strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doJSON(t, f.srv.Client(), req)
}

func TestAdminOffByDefault(t *testing.T) {
	f := newFixture(t, nil)
	if resp, _ := adminCall(t, f, http.MethodGet, "/admin/counters", "anything", ""); resp.StatusCode != 404 {
		t.Fatalf("admin API answered %d without --admin-token", resp.StatusCode)
	}
	if _, err := New(f.cfg, WithAdminToken("short")); err == nil {
		t.Fatal("a short admin token was accepted")
	}
}

func TestAdminClockAndCounters(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	if resp, _ := adminCall(t, f, http.MethodGet, "/admin/clock", "wrong-token", ""); resp.StatusCode != 401 {
		t.Fatalf("wrong admin token: %d", resp.StatusCode)
	}
	cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}
	tok, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := adminCall(t, f, http.MethodPost, "/admin/clock/advance", testAdminToken, `{"seconds": 3601}`)
	if resp.StatusCode != 200 || body["offset_seconds"] != float64(3601) || body["now"] != testStart.Add(3601*time.Second).Format(time.RFC3339) {
		t.Fatalf("advance: %d %v", resp.StatusCode, body)
	}
	if introspect(t, f, tok.AccessToken)["active"] != false {
		t.Fatal("token alive after the admin clock passed its expiry")
	}
	for _, bad := range []string{`{"seconds": -5}`, `{"seconds": "x"}`, `{"secs": 5}`, `nope`} {
		if resp, _ := adminCall(t, f, http.MethodPost, "/admin/clock/advance", testAdminToken, bad); resp.StatusCode != 400 {
			t.Errorf("advance %s: %d", bad, resp.StatusCode)
		}
	}
	resp, body = adminCall(t, f, http.MethodGet, "/admin/counters", testAdminToken, "")
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	grants := body["grants"].(map[string]any)
	issued := body["issued"].(map[string]any)
	state := body["state"].(map[string]any)
	if grants["client_credentials"] != float64(1) || issued["access_token"] != float64(1) || state["access_tokens"] != float64(1) {
		t.Fatalf("counters %v", body)
	}
}

func TestKeyRotation(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SigningAlg = alg }, WithAdminToken(testAdminToken))
			cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}
			before, err := cc.Token(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			resp, body := adminCall(t, f, http.MethodPost, "/admin/keys/rotate", testAdminToken, "")
			if resp.StatusCode != 200 || body["kid"] == body["previous_kid"] {
				t.Fatalf("rotate: %d %v", resp.StatusCode, body)
			}
			after, err := cc.Token(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if kidOf(t, after.AccessToken, alg) != body["kid"] || kidOf(t, before.AccessToken, alg) != body["previous_kid"] {
				t.Fatal("tokens not signed with the expected keys")
			}
			// Both verify against the JWKS while the old key's tokens live.
			set := fetchJWKS(t, f)
			if len(set.Keys) != 2 || set.Keys[0].KeyID != body["kid"] {
				t.Fatalf("JWKS after rotation: %d keys", len(set.Keys))
			}
			verifyAccessToken(t, f, before.AccessToken, jose.SignatureAlgorithm(alg))
			verifyAccessToken(t, f, after.AccessToken, jose.SignatureAlgorithm(alg))
			// Once the old key's tokens have expired, it leaves the JWKS.
			f.clock.Advance(time.Hour + time.Second)
			if set := fetchJWKS(t, f); len(set.Keys) != 1 || set.Keys[0].KeyID != body["kid"] {
				t.Fatalf("old key still published after its tokens expired: %d keys", len(set.Keys))
			}
		})
	}
}

func kidOf(t *testing.T, token, alg string) string {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Headers[0].KeyID
}
