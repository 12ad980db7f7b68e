// Package oidcprovider runs grantbench against a second real third-party
// provider: panva's oidc-provider 9.13.3 (npm), started on 127.0.0.1 by
// internal/oidcprovider and described by examples/targets/oidc-provider.yaml.
// One provider process and one Chromium serve the whole package: the suites
// run every check and each verdict is compared with a table that
// docs/real-providers.md explains; a short test drives the provider's own
// login, consent and device pages with the profile's selectors.
package oidcprovider

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/internal/oidcprovider"
)

// profilePath is the example profile under test: the suites run with the very
// file users copy.
const profilePath = "../../examples/targets/oidc-provider.yaml"

// The suites' own package reads -target; `go test ./suites/... -args -target F`
// hands it to this package too. Declared so that does not break the run; this
// package always tests the provider it starts.
var _ = flag.String("target", "", "ignored: this package always runs against the oidc-provider it starts")

// shared is what TestMain starts once for every test of the package.
var shared struct {
	server      *oidcprovider.Server
	webRedirect string
	browser     *flows.Browser
	// skip is why the tests cannot run here (no Node.js, no Chromium).
	skip string
}

// TestMain starts one oidc-provider and one shareable Chromium for the package
// and stops both at the end. Without node, npm or Chromium every test skips
// with the reason (make test installs them through scripts/ensure-tools.sh).
func TestMain(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	port, err := freeLoopbackPort()
	if err != nil {
		return 0, err
	}
	// oidc-provider matches a web client's redirect URI exactly, port included,
	// so flows must listen on this very port.
	shared.webRedirect = fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	server, err := oidcprovider.Start(ctx, oidcprovider.Config{WebRedirectURIs: []string{shared.webRedirect}})
	var missing *oidcprovider.ToolMissingError
	switch {
	case errors.As(err, &missing):
		shared.skip = missing.Error()
		return m.Run(), nil
	case err != nil:
		return 0, err
	}
	defer func() {
		if err := server.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	shared.server = server

	if _, err := flows.FindChrome(); err != nil {
		var missing *flows.ChromeMissingError
		if !errors.As(err, &missing) {
			return 0, err
		}
		shared.skip = "no Chrome or Chromium: " + err.Error()
		return m.Run(), nil
	}
	shots, err := os.MkdirTemp("", "grantbench-oidcprovider-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(shots)
	browser, err := flows.NewBrowser(ctx, flows.BrowserOptions{OutDir: filepath.Join(shots, "screenshots"), Shareable: true})
	if err != nil {
		return 0, fmt.Errorf("start Chromium: %w", err)
	}
	defer browser.Close()
	shared.browser = browser
	return m.Run(), nil
}

// target loads the example profile for the shared provider, or skips.
func target(t *testing.T, ctx context.Context) *flows.Target {
	t.Helper()
	if shared.skip != "" {
		t.Skip(shared.skip)
	}
	t.Setenv("OIDC_PROVIDER_ISSUER", shared.server.Issuer)
	t.Setenv("OIDC_PROVIDER_WEB_REDIRECT_URI", shared.webRedirect)
	tg, err := flows.LoadTarget(profilePath)
	if err != nil {
		t.Fatalf("load %s: %v", profilePath, err)
	}
	if err := tg.Discover(ctx); err != nil {
		t.Fatalf("discovery at %s: %v", shared.server.Issuer, err)
	}
	return tg
}

// freeLoopbackPort returns a port nobody listens on at the moment. Another
// process could take it before flows listens there; on a test machine that is
// rare, and the failure would name the port.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// TestBrowserFlowsDriveOIDCProviderPages runs the authorization code flow (the
// confidential web client and the public native client) and the device flow,
// approved and denied, through oidc-provider's own login, consent and device
// pages in Chromium, with the selectors of the example profile.
func TestBrowserFlowsDriveOIDCProviderPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	tg := target(t, ctx)
	browser := shared.browser

	for _, role := range []flows.Role{flows.RoleConfidential, flows.RolePublic} {
		res, err := flows.AuthCode(ctx, tg, flows.AuthCodeOptions{Role: role, Browser: browser, Consent: flows.ConsentBrowser, FreshBrowserSession: true})
		if err != nil {
			t.Fatalf("%s client: authorization code flow: %v (screenshots %v)", role, err, res.Screenshots)
		}
		if res.Token == nil || res.Token.AccessToken == "" || res.Token.RefreshToken == "" {
			t.Fatalf("%s client: want an access and a refresh token (offline_access), got %+v", role, res.Token)
		}
		if got, want := res.IDTokenClaims["iss"], shared.server.Issuer; got != want {
			t.Errorf("%s client: ID token iss = %v, want %s", role, got, want)
		}
		if got := res.Authorization.Response.Get("iss"); got != shared.server.Issuer {
			t.Errorf("%s client: authorization response iss = %q, want %s (RFC 9207)", role, got, shared.server.Issuer)
		}
		for _, step := range []string{"login", "consent"} {
			if !hasStep(res, step) {
				t.Errorf("%s client: no %s step; steps %v", role, step, stepNames(res))
			}
		}
	}

	res, err := flows.DeviceCode(ctx, tg, flows.DeviceOptions{Browser: browser, Consent: flows.ConsentBrowser, FreshBrowserSession: true})
	if err != nil {
		t.Fatalf("device flow: %v (screenshots %v)", err, res.Screenshots)
	}
	if res.Token == nil || res.Token.AccessToken == "" {
		t.Fatal("device flow: no access token")
	}
	for _, step := range []string{"device_verify", "login", "consent"} {
		if !hasStep(res, step) {
			t.Errorf("device flow: no %s step; steps %v", step, stepNames(res))
		}
	}

	// Denied on the confirmation page ("[ Abort ]"): the page shows the user
	// code form again with its red message, and the next poll says access_denied.
	res, err = flows.DeviceCode(ctx, tg, flows.DeviceOptions{Browser: browser, Consent: flows.ConsentBrowser, Deny: true})
	var oauthErr *flows.OAuthError
	if !errors.As(err, &oauthErr) || oauthErr.Code != "access_denied" {
		t.Errorf("denied device flow: got %v, want access_denied from the poll (steps %v)", err, stepNames(res))
	}
}

func hasStep(res *flows.Result, name string) bool {
	for _, s := range res.Trace {
		if s.Name == name {
			return true
		}
	}
	return false
}

func stepNames(res *flows.Result) []string {
	if res == nil {
		return nil
	}
	names := make([]string, 0, len(res.Trace))
	for _, s := range res.Trace {
		names = append(names, s.Name)
	}
	return names
}
