package oidcprovider

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServer starts the provider, or skips when Node.js or npm is missing
// (make test installs them through scripts/ensure-tools.sh).
func startServer(t *testing.T, ctx context.Context, cfg Config) *Server {
	t.Helper()
	server, err := Start(ctx, cfg)
	var missing *ToolMissingError
	if errors.As(err, &missing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := server.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return server
}

// TestProviderServesFAPIDiscoveryOnLoopbackAndStops starts the provider once,
// checks that it listens on 127.0.0.1 with the issuer its discovery names and
// advertises PAR, DPoP and private_key_jwt, that its FAPI 2.0 client exists
// when keys are given (a private_key_jwt client credentials request with a
// wrong assertion is refused as invalid_client, not as an unknown client), and
// that Close ends the whole process group.
func TestProviderServesFAPIDiscoveryOnLoopbackAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	jwks := json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"test","alg":"ES256","use":"sig"}]}`)
	server := startServer(t, ctx, Config{FAPIJWKS: jwks, FAPIRedirectURIs: []string{"http://127.0.0.1:1/cb"}})

	base, err := url.Parse(server.Issuer)
	if err != nil {
		t.Fatalf("issuer %q: %v", server.Issuer, err)
	}
	if ip := net.ParseIP(base.Hostname()); base.Scheme != "http" || base.Path != "" || ip == nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("issuer %q: want http://127.0.0.1:PORT", server.Issuer)
	}

	var md struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		PAR           string   `json:"pushed_authorization_request_endpoint"`
		DPoPAlgs      []string `json:"dpop_signing_alg_values_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		Device        string   `json:"device_authorization_endpoint"`
		Introspection string   `json:"introspection_endpoint"`
		Revocation    string   `json:"revocation_endpoint"`
		ResponseIss   bool     `json:"authorization_response_iss_parameter_supported"`
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(server.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: HTTP %d, %v", resp.StatusCode, err)
	}
	if md.Issuer != server.Issuer {
		t.Errorf("discovery issuer %q, want %q", md.Issuer, server.Issuer)
	}
	for name, endpoint := range map[string]string{"token": md.TokenEndpoint, "PAR": md.PAR, "device": md.Device, "introspection": md.Introspection, "revocation": md.Revocation} {
		if !strings.HasPrefix(endpoint, server.Issuer+"/") {
			t.Errorf("%s endpoint %q, want one under %s", name, endpoint, server.Issuer)
		}
	}
	if !slices.Contains(md.DPoPAlgs, "ES256") || !slices.Contains(md.AuthMethods, "private_key_jwt") || !md.ResponseIss {
		t.Errorf("discovery: DPoP algs %v, auth methods %v, iss parameter %v; want ES256, private_key_jwt, true", md.DPoPAlgs, md.AuthMethods, md.ResponseIss)
	}

	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {FAPIClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {"e30.e30.c2ln"}, // {}.{}.sig: not signed by the key above
	}
	resp, err = client.PostForm(md.TokenEndpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || body.Error != "invalid_client" {
		t.Errorf("FAPI client with a bad assertion: HTTP %d %q, want 401 invalid_client", resp.StatusCode, body.Error)
	}

	pid := server.cmd.Process.Pid
	if err := server.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-server.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after Close: %v, want ESRCH (no process left)", pid, err)
	}
	if _, err := client.Get(server.Issuer + "/.well-known/openid-configuration"); err == nil {
		t.Errorf("%s still answers after Close", server.Issuer)
	}
}

// TestStartFailsClearlyWithoutNode runs Start with a PATH that has no node:
// the error is a *ToolMissingError that says what to install.
func TestStartFailsClearlyWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(t.Context(), Config{})
	var missing *ToolMissingError
	if !errors.As(err, &missing) || missing.Tool != "node" {
		t.Fatalf("Start without node: %v, want a *ToolMissingError for node", err)
	}
	for _, want := range []string{"node", "apt-get install nodejs npm", "scripts/ensure-tools.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestInstallRunsNpmCIOnlyWhenTheLockFileChanged runs install in a copy of the
// package folder with a fake npm that records its arguments and creates
// node_modules: the first call runs `npm ci`, the second finds the stamp and
// does not, and a changed package-lock.json runs it again.
func TestInstallRunsNpmCIOnlyWhenTheLockFileChanged(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	dir := t.TempDir()
	lock, err := os.ReadFile(filepath.Join(Dir(), "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), lock, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	calls := filepath.Join(dir, "npm-calls")
	fake := "#!/bin/sh\necho \"$@\" >> " + calls + "\nrm -rf node_modules && mkdir node_modules\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	// The fake npm comes first; node and the shell's tools after it.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))

	runs := func() []string {
		data, _ := os.ReadFile(calls)
		return strings.Fields(strings.TrimSpace(strings.ReplaceAll(string(data), "\n", " | ")))
	}
	for i, want := range []bool{true, false} {
		ran, err := install(t.Context(), dir)
		if err != nil || ran != want {
			t.Fatalf("install #%d: ran %v, %v; want ran %v", i+1, ran, err, want)
		}
	}
	if got := runs(); len(got) == 0 || got[0] != "ci" || !slices.Contains(got, "--ignore-scripts") {
		t.Errorf("npm was called with %v, want ci ... --ignore-scripts", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), append(lock, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if ran, err := install(t.Context(), dir); err != nil || !ran {
		t.Errorf("install after the lock file changed: ran %v, %v; want npm ci again", ran, err)
	}
}
