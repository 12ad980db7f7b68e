package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/examples/apps/goapp"
)

// goappProfile writes a profile for the bundled Go example app, started as
// this test binary re-executed into `grantbench example-app` (the real
// binary is not built in tests), with the given bug switches.
func goappProfile(t *testing.T, bugs string) string {
	t.Helper()
	app, _ := json.Marshal([]string{"example-app"})
	profile := `name: goapp
app:
  command: [` + quote(os.Args[0]) + `, "-test.run=^TestConformChild$", "-test.count=1"]
  env:
    ` + conformChildEnv + `: ` + quote(string(app)) + `
    ISSUER: "{{issuer}}"
    CLIENT_ID: "{{client_id}}"
    CLIENT_SECRET: "{{client_secret}}"
    AUTH_METHOD: client_secret_basic
    REDIRECT_URI: "{{redirect_uri}}"
    PORT: "{{port}}"
    BUGS: ` + quote(bugs) + `
  ready: /healthz
client:
  client_id: goapp
  client_secret: goapp-secret
  redirect_uri: "{{base_url}}/callback"
login: /login
logged_in: {path: /me, text: "logged in as alice"}
`
	path := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(path, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// rpVerdicts reads results.json: the IDs of failed checks, and the skip
// reasons by ID.
func rpVerdicts(t *testing.T, out string) (failed []string, skipped map[string]string, passed int) {
	failed, skipped, passed, _ = rpVerdictsWarned(t, out)
	return failed, skipped, passed
}

// rpVerdictsWarned is rpVerdicts plus the IDs of checks passed with a warning.
func rpVerdictsWarned(t *testing.T, out string) (failed []string, skipped map[string]string, passed int, warned []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reps []types.Report
	if err := json.Unmarshal(data, &reps); err != nil {
		t.Fatal(err)
	}
	skipped = map[string]string{}
	for _, s := range reps[0].SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		id, _, _ := strings.Cut(s.LeafNodeText, ":")
		switch {
		case s.State.Is(types.SpecStateFailureStates):
			failed = append(failed, id)
		case s.State == types.SpecStateSkipped:
			skipped[id] = s.Failure.Message
		default:
			passed++
			for _, e := range s.ReportEntries {
				if e.Name == "warning" {
					warned = append(warned, id)
					break
				}
			}
		}
	}
	slices.Sort(failed)
	slices.Sort(warned)
	return failed, skipped, passed, warned
}

// TestRPCleanGoApp runs the whole rp catalogue against the clean Go example
// app: every check passes, or is skipped with its reason.
func TestRPCleanGoApp(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	started := time.Now()
	code, output := runChild(t, nil, "rp", "--app", goappProfile(t, ""), "--out", out, "--strict")
	t.Logf("grantbench rp against the clean Go app: %s wall (exit %d)", time.Since(started).Round(100*time.Millisecond), code)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, output)
	}
	failed, skipped, passed := rpVerdicts(t, out)
	if len(failed) > 0 || passed+len(skipped) != 20 {
		t.Fatalf("failed %v, %d passed, skipped %v", failed, passed, skipped)
	}
	for id, reason := range skipped {
		if strings.TrimSpace(reason) == "" {
			t.Errorf("%s skipped without a reason", id)
		}
	}
	for _, f := range []string{"junit.xml", "report.html", "summary.md", "app.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
}

// TestRPBugSwitchMatrix runs the catalogue once per bug switch of the Go
// example app (with --strict, so warnings count) and asserts that exactly
// the switch's check fails: the proof that every P check can fail. Twenty
// full runs take minutes on a busy machine, so it runs when
// GRANTBENCH_RP_MATRIX=1 (make test-rp-matrix).
func TestRPBugSwitchMatrix(t *testing.T) {
	if os.Getenv("GRANTBENCH_RP_MATRIX") != "1" {
		t.Skip("set GRANTBENCH_RP_MATRIX=1 to run the bug-switch matrix (20 full rp runs)")
	}
	for _, bug := range goapp.Bugs() {
		t.Run(string(bug.Name), func(t *testing.T) {
			out := t.TempDir()
			code, output := runChild(t, nil, "rp", "--app", goappProfile(t, string(bug.Name)), "--out", out, "--strict")
			failed, skipped, _ := rpVerdicts(t, out)
			if code != 1 || !slices.Equal(failed, []string{bug.Check}) {
				t.Fatalf("BUGS=%s: exit %d, failed %v (skipped %v); want exit 1 and exactly [%s]\n%s", bug.Name, code, failed, skipped, bug.Check, tail(output, 3000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestRPUsageErrors: a bad profile is exit 2 with the field named.
func TestRPUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\napp: {base_url: \"http://127.0.0.1:1\"}\nclient: {client_id: x, redirect_uri: \"{{base_url}}/cb\"}\nlogged_in: {text: alice}\nlogged_inn: {}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rp"}, "--app is required"},
		{[]string{"rp", "--app", bad}, "logged_inn: unknown field"},
		{[]string{"rp", "--app", filepath.Join(dir, "missing.yaml")}, "no such file"},
	} {
		err := run(context.Background(), tc.args, &strings.Builder{}, &strings.Builder{})
		var msg strings.Builder
		if code := exitCode(err, &msg); code != exitUsage || !strings.Contains(msg.String(), tc.want) {
			t.Errorf("%v: exit %d %q; want exit %d naming %q", tc.args, code, msg.String(), exitUsage, tc.want)
		}
	}
}

// TestRPAppThatDiesOrNeverGetsReady: exit 3 with the log's tail.
func TestRPAppThatDiesOrNeverGetsReady(t *testing.T) {
	dir := t.TempDir()
	dies := filepath.Join(dir, "dies.yaml")
	os.WriteFile(dies, []byte(`name: dies
app:
  command: [sh, -c, "echo 'cannot reach {{issuer}}' >&2; exit 4"]
client: {client_id: dies, redirect_uri: "{{base_url}}/callback"}
logged_in: {path: /me, text: alice}
`), 0o644)
	err := run(context.Background(), []string{"rp", "--app", dies, "--out", filepath.Join(dir, "out")}, &strings.Builder{}, &strings.Builder{})
	var msg strings.Builder
	if code := exitCode(err, &msg); code != exitUnreachable || !strings.Contains(msg.String(), "exit status 4") || !strings.Contains(msg.String(), "cannot reach http://127.0.0.1:") {
		t.Fatalf("exit %d %q; want exit %d with the exit status and the log tail", code, msg.String(), exitUnreachable)
	}
}

// TestRPFastAPIApps pins the verdicts of the two FastAPI example apps: the
// tutorial-style one passes P0 and fails what it violates (warned where
// CHECKS.md says a lapse is a warning; skipped where it sends no nonce and
// never asks userinfo), the verified one passes everything, even --strict.
func TestRPFastAPIApps(t *testing.T) {
	t.Parallel()
	if err := exec.Command("/usr/bin/python3", "-c", "import fastapi, uvicorn, jwt, requests").Run(); err != nil {
		t.Skip("python3-fastapi, python3-uvicorn, python3-jwt or python3-requests missing (make test installs them)")
	}
	t.Run("tutorial", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		code, output := runChild(t, nil, "rp", "--app", filepath.Join("..", "..", "examples", "apps", "fastapi-tutorial", "app.yaml"), "--out", out)
		failed, skipped, _, warned := rpVerdictsWarned(t, out)
		wantFailed := []string{"P1", "P13", "P15", "P16", "P17", "P18", "P2", "P4", "P6", "P7"}
		wantWarned := []string{"P14", "P19", "P3", "P5"}
		if code != 1 || !slices.Equal(failed, wantFailed) || !slices.Equal(warned, wantWarned) {
			t.Fatalf("exit %d, failed %v, warned %v; want exit 1, failed %v, warned %v\n%s", code, failed, warned, wantFailed, wantWarned, tail(output, 3000))
		}
		if !strings.Contains(skipped["P8"], "no nonce") || !strings.Contains(skipped["P12"], "userinfo") {
			t.Fatalf("P8 and P12 should be skipped with their reasons: %v", skipped)
		}
	})
	t.Run("verified", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		code, output := runChild(t, nil, "rp", "--app", filepath.Join("..", "..", "examples", "apps", "fastapi-verified", "app.yaml"), "--out", out, "--strict")
		failed, skipped, passed := rpVerdicts(t, out)
		if code != 0 || len(failed) > 0 || passed != 20 {
			t.Fatalf("exit %d, failed %v, skipped %v, %d passed; want exit 0 and 20 passed\n%s", code, failed, skipped, passed, tail(output, 3000))
		}
	})
}

// TestRPStopsWhenP0Fails: an app whose logged_in signal never shows fails P0,
// and the run stops there (every other check skipped) with exit 1 and the
// reason, instead of nineteen confusing failures.
func TestRPStopsWhenP0Fails(t *testing.T) {
	t.Parallel()
	path := goappProfile(t, "")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `text: "logged in as alice"`, `text: "welcome, alice"`, 1)), 0o644)
	out := t.TempDir()
	code, output := runChild(t, nil, "rp", "--app", path, "--out", out)
	failed, skipped, _ := rpVerdicts(t, out)
	if code != 1 || !slices.Equal(failed, []string{"P0"}) || len(skipped) != 19 || !strings.Contains(output, "the run stopped: P0 failed") {
		t.Fatalf("exit %d, failed %v, %d skipped; want exit 1, [P0], 19 skipped and the reason\n%s", code, failed, len(skipped), tail(output, 2000))
	}
}
