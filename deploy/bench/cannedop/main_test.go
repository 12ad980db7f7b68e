package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandlerRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token.json")
	bad := filepath.Join(dir, "token.txt")
	os.WriteFile(good, []byte(`{"access_token":"a","token_type":"Bearer"}`), 0o600)
	os.WriteFile(bad, []byte(`access_token=a`), 0o600)
	for _, c := range []struct{ addr, body, want string }{
		{"10.0.0.1:80", good, "loopback only"},
		{"example.com:80", good, "loopback only"},
		{"127.0.0.1", good, "--addr"},
		{"127.0.0.1:9500", "", "--body"},
		{"127.0.0.1:9500", filepath.Join(dir, "missing"), "--body"},
		{"127.0.0.1:9500", bad, "not JSON"},
	} {
		if _, err := handler(c.addr, c.body); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("handler(%q, %q) = %v, want an error naming %q", c.addr, c.body, err, c.want)
		}
	}
}

func TestHandlerServesTheCannedResponse(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token.json")
	canned := `{"access_token":"a","token_type":"Bearer","expires_in":60}`
	os.WriteFile(file, []byte(canned), 0o600)
	h, err := handler("127.0.0.1:9500", file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for range 2 {
		resp, err := http.Post(srv.URL+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != canned || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("token: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"token_endpoint":"http://127.0.0.1:9500/token"`) {
		t.Errorf("discovery: %s", body)
	}
}
