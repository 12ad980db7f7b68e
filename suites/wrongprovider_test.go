package suites

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
)

// The proof that a spec fails for the right reason: the bundled mock behind a
// middleware that breaks exactly one behaviour, run in a child process (Ginkgo
// runs once per process), must fail exactly the check about that behaviour.

// selftestModeEnv selects, in the child process, which wrong provider to run
// the suites against.
const selftestModeEnv = "GRANTBENCH_SELFTEST_MODE"

// wrongProviders maps a mode to the middleware that breaks the mock and the
// check IDs that must fail because of it (all others must pass or skip).
var wrongProviders = map[string]struct {
	breaks  func(next http.Handler, key *rsa.PrivateKey, issuer string) http.Handler
	failing []string
	filter  string
}{
	// The ID token's iss names another issuer, validly signed: only T2 looks.
	// T6 rotates the signing key, after which the middleware (holding only the
	// first key) could no longer sign validly, so it stays out of this run.
	"wrong-iss": {breaks: rewriteIDTokenIssuer, failing: []string{"T2"}, filter: "!browser && !T6"},
	// Token responses lose Cache-Control: AC1 and C9 check it, no other check.
	"no-store-dropped": {breaks: dropNoStore, failing: []string{"AC1", "C9"}, filter: "authcode || client"},
}

// startWrongProvider serves the bundled mock behind the mode's middleware on
// 127.0.0.1 and returns its target profile.
func startWrongProvider(t *testing.T, mode string) *flows.Target {
	wrong, ok := wrongProviders[mode]
	if !ok {
		t.Fatalf("unknown %s %q", selftestModeEnv, mode)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = issuer
	const adminToken = "selftest-admin-token"
	p, err := mockprovider.New(cfg, mockprovider.WithSigningKey(key), mockprovider.WithAdminToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = wrong.breaks(p, key, issuer)
	srv.Start()
	t.Cleanup(srv.Close)
	return flows.MockTarget(issuer, adminToken)
}

// rewriteTokenResponse lets edit change the JSON body of token endpoint responses.
func rewriteTokenResponse(next http.Handler, edit func(h http.Header, body map[string]any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/token" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var obj map[string]any
		if json.Unmarshal(body, &obj) == nil {
			edit(rec.Header(), obj)
			body, _ = json.Marshal(obj)
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// rewriteIDTokenIssuer re-signs every ID token with iss pointing elsewhere.
func rewriteIDTokenIssuer(next http.Handler, key *rsa.PrivateKey, issuer string) http.Handler {
	return rewriteTokenResponse(next, func(_ http.Header, body map[string]any) {
		raw, ok := body["id_token"].(string)
		if !ok {
			return
		}
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			return
		}
		var claims map[string]any
		if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims) != nil {
			return
		}
		claims["iss"] = issuer + "/not-the-issuer"
		payload, _ := json.Marshal(claims)
		opts := (&jose.SignerOptions{}).WithHeader("kid", jws.Signatures[0].Protected.KeyID).WithType("JWT")
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
		if err != nil {
			return
		}
		signed, err := signer.Sign(payload)
		if err != nil {
			return
		}
		if out, err := signed.CompactSerialize(); err == nil {
			body["id_token"] = out
		}
	})
}

// dropNoStore removes Cache-Control from token endpoint responses.
func dropNoStore(next http.Handler, _ *rsa.PrivateKey, _ string) http.Handler {
	return rewriteTokenResponse(next, func(h http.Header, _ map[string]any) {
		h.Del("Cache-Control")
		h.Del("Pragma")
	})
}

func TestWrongProviderFailsOnlyTheMatchingCheck(t *testing.T) {
	if os.Getenv(selftestModeEnv) != "" {
		t.Skip("running as the child of this test")
	}
	if testing.Short() {
		t.Skip("runs the suites in child processes")
	}
	for mode, wrong := range wrongProviders {
		t.Run(mode, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.json")
			args := []string{"-test.run=^TestSuites$", "-test.count=1", "-ginkgo.json-report=" + report, "-ginkgo.no-color"}
			if wrong.filter != "" {
				args = append(args, "-ginkgo.label-filter="+wrong.filter)
			}
			ctx, cancel := context.WithTimeout(context.Background(), ciTimeout(t))
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], args...)
			cmd.Env = append(os.Environ(), selftestModeEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) {
				t.Fatalf("the child run against the wrong provider should fail with a non-zero exit; err=%v\n%s", err, tail(out))
			}
			failed, passed := specOutcomes(t, report)
			slices.Sort(failed)
			want := slices.Clone(wrong.failing)
			slices.Sort(want)
			if !slices.Equal(failed, want) {
				t.Fatalf("failed checks = %v, want exactly %v\n%s", failed, want, tail(out))
			}
			if len(passed) == 0 {
				t.Fatalf("no check passed against the wrong provider:\n%s", tail(out))
			}
		})
	}
}

// specOutcomes reads a Ginkgo JSON report and returns the IDs of failed and of
// passed specs.
func specOutcomes(t *testing.T, path string) (failed, passed []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the child wrote no report: %v", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					failed = append(failed, fmt.Sprintf("%s %s", s.LeafNodeType, s.Failure.Message))
				}
				continue
			}
			id, _, _ := strings.Cut(s.LeafNodeText, ":")
			switch {
			case s.State.Is(types.SpecStateFailureStates):
				failed = append(failed, id)
			case s.State == types.SpecStatePassed:
				passed = append(passed, id)
			}
		}
	}
	return failed, passed
}

func ciTimeout(t *testing.T) (d time.Duration) {
	if deadline, ok := t.Deadline(); ok {
		return time.Until(deadline) - 10*time.Second
	}
	return 5 * time.Minute
}

func tail(out []byte) string {
	const keep = 6000
	if len(out) > keep {
		return "…" + string(out[len(out)-keep:])
	}
	return string(out)
}
