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
