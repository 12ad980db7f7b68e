package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var issuerLine = regexp.MustCompile(`issuer:\s+(\S+)`)

// startProvider runs `grantbench provider args...` until the test ends and
// returns its issuer.
func startProvider(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"provider", "--addr", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("provider did not stop within 10s")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// The banner ends with the Ctrl-C line: wait for all of it.
		if out := stdout.String(); strings.Contains(out, "Press Ctrl-C") {
			m := issuerLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no issuer in the banner:\n%s", out)
			}
			t.Cleanup(func() { _ = stop() })
			return m[1], &stdout, stop
		}
		select {
		case err := <-done:
			t.Fatalf("provider exited: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("no issuer printed:\n%s", stdout.String())
	return "", nil, nil
}

func TestProviderCommandServes(t *testing.T) {
	issuer, stdout, stop := startProvider(t, "--alg", "ES256", "--access-token", "opaque", "--admin-token", "admin-token-1")
	for _, want := range []string{"demo-secret", "legacy-secret", "demo-public", "alice", "wonderland", "ES256", "opaque"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc["issuer"] != issuer {
		t.Fatalf("discovery issuer %v (%v), want %s", doc["issuer"], err, issuer)
	}
	req, _ := http.NewRequest(http.MethodGet, issuer+"/admin/clock", nil)
	req.Header.Set("Authorization", "Bearer admin-token-1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("admin API: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestProviderCommandFAPI2Profile(t *testing.T) {
	issuer, stdout, stop := startProvider(t, "--profile", "fapi2")
	if !strings.Contains(stdout.String(), "profile:   fapi2") {
		t.Errorf("banner lacks the profile:\n%s", stdout.String())
	}
	resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RequirePAR  bool     `json:"require_pushed_authorization_requests"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		SigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || !doc.RequirePAR || strings.Join(doc.AuthMethods, ",") != "private_key_jwt" || strings.Join(doc.SigningAlgs, ",") != "ES256" {
		t.Fatalf("fapi2 metadata %+v (%v)", doc, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestProviderCommandTLS(t *testing.T) {
	issuer, _, stop := startProvider(t, "--tls-self-signed")
	if !strings.HasPrefix(issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %s", issuer)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestProviderCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("clients:\n  - id: x\n    secret: s\n    grant_types: [teleport]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortToken, emptyToken := filepath.Join(dir, "short"), filepath.Join(dir, "empty")
	if err := os.WriteFile(shortToken, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyToken, []byte("\nsecond-line-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--alg", "HS256"}, "--alg"},
		{[]string{"--access-token", "paseto"}, "--access-token"},
		{[]string{"--profile", "fapi1"}, "--profile"},
		{[]string{"--config", badConfig}, "clients[0].grant_types[0]"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"--admin-token", "short"}, "--admin-token"},
		{[]string{"--admin-token", "long-enough-1", "--admin-token-file", shortToken}, "give one of them"},
		{[]string{"--admin-token-file", shortToken}, "at least 8 characters"},
		{[]string{"--admin-token-file", emptyToken}, "first line is empty"},
		{[]string{"--admin-token-file", filepath.Join(dir, "no-token")}, "no-token"},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert"},
		{[]string{"--tls-self-signed", "--tls-key", "k.pem"}, "--tls-self-signed"},
		{[]string{"--addr", "nope"}, "--addr"},
		{[]string{"--nonsense"}, "nonsense"},
		{[]string{"--defect", "no_such_defect"}, "defects[0]"},
		{[]string{"--defect", "nobody:code_reuse"}, "nobody"},
		{[]string{"--defect", "demo:jwks_leaks_private"}, "clients[0].defects[0]"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"provider"}, tc.args...), &stdout, &stderr)
		if code := exitCode(err, &stderr); code != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, err %v; want exit 2 naming %s", tc.args, code, err, tc.want)
		}
	}
}

func TestProviderCommandDefects(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"provider", "--list-defects"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"code_reuse", "AC2", "jwks_leaks_private", "whole provider only"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--list-defects lacks %q", want)
		}
	}
	issuer, banner, stop := startProvider(t, "--defect", "metadata_issuer_mismatch", "--defect", "demo:code_reuse")
	if !strings.Contains(banner.String(), "DEFECTS ON") || !strings.Contains(banner.String(), "code_reuse (client demo only)") {
		t.Errorf("banner does not warn about defects:\n%s", banner.String())
	}
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc["issuer"] == issuer {
		t.Fatalf("metadata_issuer_mismatch not on: %v %v", doc["issuer"], err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:9000": true, "[::1]:1": true, "localhost:80": true,
		"0.0.0.0:9000": false, ":9000": false, "10.0.0.1:9000": false} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%s) = %v", addr, got)
		}
	}
}

// TestProviderAdminTokenFromFileOrEnvironment: the admin token can stay out
// of the process list, read from a file's first line or from
// $GRANTBENCH_ADMIN_TOKEN, and the banner says where it came from (never the
// token itself).
func TestProviderAdminTokenFromFileOrEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte("from-a-file-123\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, token, source string
		args                     []string
	}{
		{"file", "", "from-a-file-123", "--admin-token-file " + file, []string{"--admin-token-file", file}},
		{"environment", "from-the-env-456", "from-the-env-456", "$GRANTBENCH_ADMIN_TOKEN", nil},
		{"flag over environment", "from-the-env-456", "from-a-flag-789", "--admin-token)", []string{"--admin-token", "from-a-flag-789"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, tc.env)
			issuer, stdout, stop := startProvider(t, tc.args...)
			defer stop()
			if !strings.Contains(stdout.String(), "bearer token from "+tc.source) {
				t.Errorf("the banner does not name %s:\n%s", tc.source, stdout.String())
			}
			if strings.Contains(stdout.String(), tc.token) {
				t.Error("the banner shows the admin token")
			}
			req, err := http.NewRequest(http.MethodGet, issuer+"/admin/clock", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /admin/clock with the token: %d", resp.StatusCode)
			}
		})
	}
}

// TestProviderPortInUse: a taken address is a usage error (exit 2) that
// names it, not a bare listen failure.
func TestProviderPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"provider", "--addr", addr}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != exitUsage || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("exit %d, err %v; want exit 2 naming %s as in use", code, err, addr)
	}
}

// TestProviderWarnsAboutTheAdminAPIOffLoopback: listening beyond loopback
// with the admin API on warns about the admin API, not only the demo secrets.
func TestProviderWarnsAboutTheAdminAPIOffLoopback(t *testing.T) {
	if w := exposureWarnings("127.0.0.1:9000", true); len(w) != 0 {
		t.Errorf("loopback warned: %q", w)
	}
	if w := exposureWarnings("0.0.0.0:9000", false); len(w) != 1 || strings.Contains(w[0], "admin") {
		t.Errorf("no admin API: %q", w)
	}
	w := strings.Join(exposureWarnings("0.0.0.0:9000", true), "\n")
	if !strings.Contains(w, "0.0.0.0:9000 is not a loopback address") || !strings.Contains(w, "admin API (/admin/)") {
		t.Errorf("with the admin API: %q", w)
	}
}

func TestProviderCommandServesSeveralIssuers(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "issuers.yaml")
	yaml := "issuers:\n  - id: tenant-a\n    signing_alg: ES256\n    users:\n      - {username: bob, password: builder-pw, subject: bob}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	issuer, stdout, _ := startProvider(t, "--config", cfg)
	banner := stdout.String()
	for _, want := range []string{"issuer tenant-a:", issuer + "/tenant-a/.well-known/openid-configuration", "bob", "builder-pw"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	for _, iss := range []string{issuer, issuer + "/tenant-a"} {
		resp, err := http.Get(iss + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Issuer string   `json:"issuer"`
			Algs   []string `json:"id_token_signing_alg_values_supported"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || doc.Issuer != iss {
			t.Errorf("discovery at %s: issuer %q (%v)", iss, doc.Issuer, err)
		}
	}
}
