package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/suites"
)

// conformChildEnv makes the test binary, re-executed, run one conform command
// in a fresh process: Ginkgo runs its specs once per process.
const conformChildEnv = "GRANTBENCH_CONFORM_CHILD_ARGS"

// TestConformChild is the child side of runConformChild: it does nothing
// unless the environment names a command to run.
func TestConformChild(t *testing.T) {
	args := os.Getenv(conformChildEnv)
	if args == "" {
		t.Skip("only runs as a child process of another test")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatalf("bad %s: %v", conformChildEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	err := run(ctx, argv, os.Stdout, os.Stderr)
	cancel()
	os.Exit(exitCode(err, os.Stderr))
}

// runConformChild runs `grantbench conform args...` in a child process and
// returns its exit code and output.
func runConformChild(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return runConformChildEnv(t, nil, args...)
}

// runConformChildEnv is runConformChild with extra environment variables.
func runConformChildEnv(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	return runChild(t, env, append([]string{"conform"}, args...)...)
}

// runChild runs `grantbench argv...` in a child process (the re-executed test
// binary) and returns its exit code and output. The tests that run whole
// catalogues, rp runs or the demo this way call t.Parallel: each child mostly
// waits on its browser, its example app or a deadline the checks set (P17
// waits out the app's token timeout), so several at once finish in about the
// time of the longest rather than the sum (TestMain raises -parallel).
func runChild(t *testing.T, env []string, argv ...string) (int, string) {
	t.Helper()
	encoded, err := json.Marshal(argv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestConformChild$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), conformChildEnv+"="+string(encoded))
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exitErr *exec.ExitError
		if !asExitError(err, &exitErr) {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return exitErr.ExitCode(), string(out)
	}
	return 0, string(out)
}

func asExitError(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}

func TestConformUsageErrors(t *testing.T) {
	badProfile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badProfile, []byte("issuer: not a url\nclients: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
		{"missing profile", []string{"--target", filepath.Join(t.TempDir(), "absent.yaml")}, "no such file"},
		{"bad profile", []string{"--target", badProfile}, "issuer"},
		{"bad label filter", []string{"--label-filter", "AC1 &&", "--out", t.TempDir()}, "label filter"},
		{"bad browser URL", []string{"--browser-url", "ftp://127.0.0.1:9222", "--out", t.TempDir()}, "--browser-url"},
		{"browser URL without a host", []string{"--browser-url", "ws:///devtools", "--out", t.TempDir()}, "--browser-url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"conform"}, tc.args...), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != exitUsage {
				t.Fatalf("exit code %d, want %d (err %v)", code, exitUsage, err)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not mention %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestConformUnreachableTarget(t *testing.T) {
	// A listener that is closed at once: nothing answers on its port.
	srv := httptest.NewServer(http.NotFoundHandler())
	issuer := srv.URL
	srv.Close()
	profile := filepath.Join(t.TempDir(), "target.yaml")
	body := "issuer: " + issuer + "\nclients:\n  confidential:\n    client_id: app\n    client_secret: s3cret-value\n"
	if err := os.WriteFile(profile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"conform", "--target", profile, "--out", t.TempDir()}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != exitUnreachable {
		t.Fatalf("exit code %d, want %d: %s", code, exitUnreachable, stderr.String())
	}
	if strings.Contains(stderr.String(), "s3cret-value") {
		t.Fatal("the client secret was printed")
	}
}

func TestConformAgainstBundledMock(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	out := t.TempDir()
	code, output := runConformChild(t, "--label-filter", "M1 || M2 || C5", "--out", out, "--no-color")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0:\n%s", code, output)
	}
	if !strings.Contains(output, "Ran 3 of") {
		t.Fatalf("Ginkgo's summary is missing or counts other than 3 checks:\n%s", output)
	}
	// report.html and summary.md beside junit.xml, as demo writes them.
	for _, name := range []string{"junit.xml", "results.json", "report.html", "summary.md"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || len(data) == 0 {
			t.Fatalf("%s not written: %v", name, err)
		}
	}
	if !strings.Contains(output, filepath.Join(out, "report.html")) {
		t.Errorf("the output does not name report.html:\n%s", output)
	}
	// --no-reports leaves them out.
	bare := t.TempDir()
	if code, output := runConformChild(t, "--label-filter", "M1", "--out", bare, "--no-color", "--no-reports"); code != exitOK {
		t.Fatalf("--no-reports: exit code %d:\n%s", code, output)
	}
	for name, want := range map[string]bool{"junit.xml": true, "results.json": true, "report.html": false, "summary.md": false} {
		if _, err := os.Stat(filepath.Join(bare, name)); (err == nil) != want {
			t.Errorf("--no-reports: %s written: %v, want %v", name, err == nil, want)
		}
	}
}

// brokenTokenEndpoint serves valid metadata but answers every token request
// with a bare 500: C5 must fail and conform exit 1.
func brokenTokenEndpoint(t *testing.T) string {
	t.Helper()
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": issuer, "token_endpoint": issuer + "/token", "authorization_endpoint": issuer + "/authorize",
				"jwks_uri": issuer + "/jwks", "response_types_supported": []string{"code"},
			})
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL
	return issuer
}

func TestConformFailedCheckExitsOne(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	issuer := brokenTokenEndpoint(t)
	profile := filepath.Join(t.TempDir(), "target.yaml")
	body := "issuer: " + issuer + "\nclients:\n  confidential:\n    client_id: app\n    client_secret: s3cret-value\n"
	if err := os.WriteFile(profile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, output := runConformChild(t, "--target", profile, "--label-filter", "C5", "--out", out, "--no-color")
	if code != exitFailed {
		t.Fatalf("exit code %d, want %d:\n%s", code, exitFailed, output)
	}
	if !strings.Contains(output, "C5:") || !strings.Contains(output, "[FAIL]") {
		t.Fatalf("the output does not show C5 failing:\n%s", output)
	}
	if strings.Contains(output, "s3cret-value") {
		t.Fatal("the client secret was printed")
	}
	if _, err := os.Stat(filepath.Join(out, "junit.xml")); err != nil {
		t.Fatalf("junit.xml not written on failure: %v", err)
	}
}

// TestConformVerboseRedactsTheConsole: the console goes through the same
// redaction as the files. B8 failing (state_dropped) prints the authorization
// response it judged, which holds a code; with -v every check's output shows
// too. No code, token or other long random value may appear in full.
func TestConformVerboseRedactsTheConsole(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	code, output := runConformChild(t, "-v", "--defect", "state_dropped", "--label-filter", "B8 || M1", "--out", t.TempDir(), "--no-color")
	if code != exitFailed || !strings.Contains(output, "B8:") || !strings.Contains(output, `"code"`) {
		t.Fatalf("exit code %d, want B8 failing and showing the response it judged:\n%s", code, output)
	}
	// The code is 43 base64url characters; the redactor keeps six and the length.
	if long := regexp.MustCompile(`"[A-Za-z0-9_-]{24,}"`).FindString(output); long != "" {
		t.Errorf("the console shows %s in full:\n%s", long, output)
	}
}

// TestConformWarningAndStrict: a SHOULD the provider does not meet is a
// warning (exit 0, the verdict in junit.xml); --strict makes it a failure.
func TestConformWarningAndStrict(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	out := t.TempDir()
	code, output := runConformChild(t, "--defect", "code_reuse_keeps_tokens", "--label-filter", "AC2", "--out", out, "--no-color")
	if code != 0 {
		t.Fatalf("a warning: exit code %d, want 0:\n%s", code, output)
	}
	if !strings.Contains(output, "1 check(s) passed with a warning") {
		t.Fatalf("the output does not count the warning:\n%s", output)
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(junit), `<property name="verdict" value="warning">`) {
		t.Fatalf("junit.xml does not carry the warning verdict:\n%s", junit)
	}
	code, output = runConformChild(t, "--strict", "--defect", "code_reuse_keeps_tokens", "--label-filter", "AC2", "--out", t.TempDir(), "--no-color")
	if code != exitFailed {
		t.Fatalf("--strict: exit code %d, want %d:\n%s", code, exitFailed, output)
	}
	if !strings.Contains(output, "failed because of --strict") {
		t.Fatalf("--strict: the failure does not say why:\n%s", output)
	}
}

func TestConformChromeMissingExitsTwo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	missing := filepath.Join(t.TempDir(), "no-chromium-here")
	code, output := runConformChildEnv(t, []string{"CHROME_PATH=" + missing}, "--label-filter", "AC1", "--out", t.TempDir(), "--no-color")
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d:\n%s", code, exitUsage, output)
	}
	if !strings.Contains(output, "apt-get install") {
		t.Fatalf("the output does not say how to install Chromium:\n%s", output)
	}
}

// TestConformConsoleShowsNoSecrets runs checks that fail with defects which put
// tokens, secrets and private keys on the wire (the mock's client secrets and
// user password are known), verbose, and scans the whole console output: the
// written files go through the redactor, Ginkgo's console does not, so the
// suites' own messages must already be safe.
func TestConformConsoleShowsNoSecrets(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	args := []string{"--out", out, "--no-color", "-v", "--label-filter", "!browser"}
	for _, d := range []string{"jwks_leaks_private", "introspect_leaks", "client_secret_unchecked", "token_get_allowed",
		"implicit_refresh_token", "password_always_on", "weak_tokens", "error_to_unregistered", "cc_refresh_token"} {
		args = append(args, "--defect", d)
	}
	code, output := runConformChild(t, args...)
	if code != 1 || !strings.Contains(output, "[FAILED]") {
		t.Fatalf("exit %d, want 1 with failed checks; output:\n%s", code, output)
	}
	for _, secret := range []string{"demo-secret", "legacy-secret", "wonderland"} {
		if strings.Contains(output, secret) {
			t.Errorf("the console output shows the secret %q", secret)
		}
	}
	// A whole JWT (tokens, ID tokens) or a private JWK member.
	if m := regexp.MustCompile(`eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}|"d"\s*:\s*"[\w-]{20,}`).FindString(output); m != "" {
		t.Errorf("the console output shows %q", m)
	}
}

// TestConformAdminFeatureWithoutToken: the README's `conform --target
// examples/targets/mock.yaml` without GRANTBENCH_ADMIN_TOKEN used to run and
// fail 12 checks with "is GRANTBENCH_ADMIN_TOKEN set?"; a profile claiming
// admin_clock without its token is a configuration error, before any check.
func TestConformAdminFeatureWithoutToken(t *testing.T) {
	t.Setenv("GRANTBENCH_ADMIN_TOKEN", "")
	// Nothing listens here: the profile must be refused before discovery.
	t.Setenv("GRANTBENCH_ISSUER", "http://127.0.0.1:1")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"conform", "--target", filepath.Join("..", "..", "examples", "targets", "mock.yaml"),
		"--out", t.TempDir(), "--no-color"}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
	}
	for _, want := range []string{"features.admin_clock", "GRANTBENCH_ADMIN_TOKEN", "mock.yaml"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not name %s:\n%s", want, stderr.String())
		}
	}
}

// TestConformBrokenDiscoveryExitsOne: discovery that answered with nothing
// usable fails the run (exit 1); only no answer at all is exit 3.
func TestConformBrokenDiscoveryExitsOne(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := conformError(&suites.DiscoveryError{Err: errors.New("HTTP 500")}, "", &stdout)
	if code := exitCode(err, &stderr); code != exitFailed {
		t.Errorf("DiscoveryError: exit %d, want 1", code)
	}
	err = conformError(&suites.UnreachableError{Err: errors.New("connection refused")}, "", &stdout)
	if code := exitCode(err, &stderr); code != exitUnreachable {
		t.Errorf("UnreachableError: exit %d, want 3", code)
	}
}

// TestDefectRunOutputsHaveNoGoInternals is issue 14's `<*fmt.wrapError |
// 0x21482ceabd60>` in the console, the JUnit message and summary.md: after a
// run with failures, no output shows a Go type or an address, and the
// failure reads as a sentence.
func TestDefectRunOutputsHaveNoGoInternals(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs checks in a child process")
	}
	out := t.TempDir()
	code, console := runConformChild(t, "--defect", "alg_none", "--out", out, "--no-color")
	if code != exitFailed {
		t.Fatalf("exit code %d, want 1 (alg_none fails T1):\n%s", code, console)
	}
	internals := regexp.MustCompile(`\b0x[0-9a-f]{8,}\b|\*fmt\.`)
	outputs := map[string]string{"console": console}
	for _, name := range []string{"junit.xml", "summary.md", "report.html", "results.json"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		outputs[name] = string(data)
	}
	for name, text := range outputs {
		for _, m := range internals.FindAllStringIndex(text, 3) {
			t.Errorf("%s shows Go internals: …%s…", name, text[max(0, m[0]-80):min(len(text), m[1]+40)])
		}
	}
	// T1 to T6 fail on one error, said once as their root cause.
	root := regexp.MustCompile("\\*\\*Root cause of 6 checks\\*\\*: `jwt: header: unexpected signature algorithm \"none\"; expected [^`]*` \\(defect alg\\\\_none switched on\\)")
	if !root.MatchString(outputs["summary.md"]) {
		t.Errorf("summary.md does not group T1-T6 under alg_none (%s):\n%s", root, outputs["summary.md"])
	}
	// The unsigned token decoded in the evidence, and the run named.
	for _, want := range []string{"&#34;alg&#34;: &#34;none&#34;", "Defects switched on", "alg_none"} {
		if !strings.Contains(outputs["report.html"], want) {
			t.Errorf("report.html does not show %s", want)
		}
	}
}
