package mockprovider

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Faults = []Fault{{Endpoint: "jwks", Latency: Duration(40 * time.Millisecond), Jitter: Duration(time.Millisecond)}}
	}, WithAdminToken(testAdminToken))
	get := func(path string) (*http.Response, string, time.Duration, error) {
		start := time.Now()
		resp, err := f.srv.Client().Get(f.url(path))
		if err != nil {
			return nil, "", time.Since(start), err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, string(body), time.Since(start), err
	}
	if resp, _, took, err := get("/jwks"); err != nil || resp.StatusCode != 200 || took < 40*time.Millisecond {
		t.Fatalf("latency: %v %v", took, err)
	}
	put := func(body string) int {
		resp, _ := adminCall(t, f, http.MethodPut, "/admin/faults", testAdminToken, body)
		return resp.StatusCode
	}
	if put(`{"faults": [{"endpoint": "*", "error_rate": 1, "error_status": 502, "error_code": "server_error"}, {"endpoint": "userinfo", "drop_rate": 1}]}`) != 200 {
		t.Fatal("PUT /admin/faults refused")
	}
	resp, body, _, err := get("/jwks")
	if err != nil || resp.StatusCode != 502 || !strings.Contains(body, `"error":"server_error"`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error fault: %v %s", err, body)
	}
	if _, _, _, err := get("/userinfo"); err == nil {
		t.Fatal("drop fault: got an answer")
	}
	// Both are counted: the error by its code and status class, the drop
	// (net/http's client sends a GET again once when its connection is
	// dropped, so every userinfo request the provider saw was dropped).
	stats := f.p.Stats()
	if stats["errors"]["server_error"] != 1 || stats["responses"]["jwks:5xx"] != 1 {
		t.Errorf("error fault not counted: server_error %d, jwks:5xx %d", stats["errors"]["server_error"], stats["responses"]["jwks:5xx"])
	}
	if n := stats["dropped"]["userinfo"]; n == 0 || n != stats["requests"]["userinfo"] {
		t.Errorf("drop fault: %d userinfo requests, %d counted as dropped", stats["requests"]["userinfo"], n)
	}
	// A code outside the registered ones is counted as "other".
	if put(`{"faults": [{"endpoint": "jwks", "error_rate": 1, "error_code": "made_up"}]}`) != 200 {
		t.Fatal("PUT /admin/faults refused")
	}
	if resp, _, _, err := get("/jwks"); err != nil || resp.StatusCode != 503 {
		t.Fatalf("custom error fault: %v", err)
	}
	if n := f.p.Stats()["errors"]["other"]; n != 1 {
		t.Errorf("made_up error counted %d times under other, want 1", n)
	}
	// The admin API stays reachable under a "*" fault.
	if resp, _ := adminCall(t, f, http.MethodGet, "/admin/faults", testAdminToken, ""); resp.StatusCode != 200 {
		t.Fatal("admin API blocked by a fault")
	}
	if put(`{"faults": [{"endpoint": "discovery", "slow_body": "100ms"}]}`) != 200 {
		t.Fatal("PUT slow_body refused")
	}
	resp, body, took, err := get("/.well-known/openid-configuration")
	if err != nil || resp.StatusCode != 200 || !strings.Contains(body, `"issuer"`) || took < 90*time.Millisecond {
		t.Fatalf("slow body: %v %v %d bytes", took, err, len(body))
	}
	for _, bad := range []string{`{"faults": [{"endpoint": "nowhere"}]}`, `{"faults": [{"endpoint": "token", "error_rate": 2}]}`,
		`{"faults": [{"endpoint": "token", "latency": "2h"}]}`, `{"faults": [{"endpoint": "token", "error_status": 200}]}`} {
		if put(bad) != 400 {
			t.Errorf("%s accepted", bad)
		}
	}
	if put(`{"faults": []}`) != 200 {
		t.Fatal("clearing faults refused")
	}
	if resp, _, _, err := get("/jwks"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("faults not cleared: %v", err)
	}
	if _, err := ParseConfig([]byte("faults: [{endpoint: token, drop_rate: -1}]")); err == nil || !strings.Contains(err.Error(), "faults[0].drop_rate") {
		t.Errorf("config fault error: %v", err)
	}
}

// TestFaultOutwaitedByTheClientIsCountedAbandoned: a latency fault longer
// than the client's patience ends with no answer sent; the request is
// counted as abandoned, not as a 200 nobody received.
func TestFaultOutwaitedByTheClientIsCountedAbandoned(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Faults = []Fault{{Endpoint: "jwks", Latency: Duration(5 * time.Second)}}
	})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := client.Get(f.url("/jwks")); err == nil {
		resp.Body.Close()
		t.Fatal("answered within the latency")
	}
	deadline := time.Now().Add(3 * time.Second)
	for f.p.Stats()["abandoned"]["jwks"] == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stats := f.p.Stats()
	if stats["abandoned"]["jwks"] != 1 || stats["responses"]["jwks:2xx"] != 0 {
		t.Errorf("abandoned %d, 2xx %d; want 1 and 0", stats["abandoned"]["jwks"], stats["responses"]["jwks:2xx"])
	}
}
