package mockprovider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// Keys are generated once per test binary: RSA generation under -race is slow.
var testKeys = sync.OnceValues(func() (map[string]crypto.Signer, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return map[string]crypto.Signer{AlgRS256: rsaKey, AlgES256: ecKey}, nil
})

var testStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	p     *Provider
	srv   *httptest.Server
	clock *ManualClock
	cfg   Config
}

// newFixture serves a provider on httptest with a manual clock. mutate edits
// the default config before New.
func newFixture(t testing.TB, mutate func(*Config), opts ...Option) *fixture {
	t.Helper()
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	clock := NewManualClock(testStart)
	opts = append([]Option{WithClock(clock), WithSigningKey(keys[cfg.SigningAlg])}, opts...)
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	// The panic_on_bad_input defect crashes handlers on purpose: its stack
	// traces are not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return &fixture{p: p, srv: srv, clock: clock, cfg: cfg}
}

func (f *fixture) url(path string) string { return f.srv.URL + path }

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// postForm sends a form POST with optional Basic credentials and decodes
// the JSON answer.
func (f *fixture) postForm(t testing.TB, path string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return doJSON(t, f.srv.Client(), req)
}

func doJSON(t testing.TB, c *http.Client, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %s", req.Method, req.URL.Path, err, body)
		}
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, out
}

// wantOAuthError asserts an RFC 6749 5.2 error response.
func wantOAuthError(t testing.TB, resp *http.Response, body map[string]any, status int, code oauth.ErrorCode) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code.String() {
		t.Fatalf("got status %d error %v (%v), want %d %s", resp.StatusCode, body["error"], body["error_description"], status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func decodeJSON(resp *http.Response, into any) error {
	return json.NewDecoder(resp.Body).Decode(into)
}

// parallelWins runs try n times at once and counts the calls that succeeded:
// the race a one-time code or token must have exactly one winner of.
func parallelWins(n int, try func() bool) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range n {
		wg.Go(func() {
			if try() {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return wins
}

// serveClientCredentials benchmarks h answering the demo client's
// client_credentials request, handler only (no network).
func serveClientCredentials(b *testing.B, h http.Handler) {
	const body = "grant_type=client_credentials&scope=api.read"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("demo", "demo-secret")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
