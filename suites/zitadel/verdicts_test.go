package zitadel

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/suites"
	"github.com/grantbench/grantbench/suites/internal/verdicts"
)

const (
	passed  = types.SpecStatePassed
	failed  = types.SpecStateFailed
	skipped = types.SpecStateSkipped
)

// expectedVerdicts is the verdict of every check the suites implement against
// zitadel/oidc v3.52.0's example OP with examples/targets/zitadel.yaml. Each
// failure and skip is explained in docs/real-providers.md (zitadel's behaviour,
// its file and line, the RFC text); keep the two in step.
var expectedVerdicts = map[string]types.SpecState{
	"AC1":  failed, // token response has no Cache-Control: no-store
	"AC2":  passed,
	"AC3":  failed,  // parallel redemptions of one code both get tokens (looked up, deleted only after the tokens)
	"AC4":  skipped, // no admin clock; the example's codes never expire (source)
	"AC5":  passed,
	"AC6":  passed,
	"AC7":  passed, // invalid_request "code_verifier required", which the suite accepts
	"AC8":  passed,
	"AC9":  passed, // invalid_request "code_verifier unexpectedly provided"
	"AC10": failed, // code_challenge_method=plain accepted though only S256 is advertised
	"AC11": failed, // public client without code_challenge reaches the login page
	"AC12": passed,
	"AC13": failed,  // a repeated parameter is accepted (the decoder keeps the last value)
	"AC14": failed,  // unknown response_type gets unauthorized_client
	"AC15": skipped, // no consent page to deny on
	"B1":   passed,
	"B2":   passed,
	"B3":   passed,
	"B4":   passed,
	"B5":   failed,  // the login page sends neither X-Frame-Options nor CSP frame-ancestors
	"B6":   skipped, // no iss response parameter (RFC 9207) advertised or sent
	"B7":   skipped, // browser-driven profile: the login POST status is not observable
	"B8":   passed,
	"C1":   passed, // as the service user sid1 (the profile's service client)
	"C2":   failed, // 401 without WWW-Authenticate
	"C3":   passed,
	"C4":   passed,
	"C5":   passed,
	"C6":   failed, // a service user gets any scope it asks for
	"C7":   failed, // a service user gets a token by GET, credentials in the query
	"C8":   failed, // a service user gets a token despite %zz or grant_type twice
	"C9":   failed, // error responses have no Cache-Control: no-store
	"D1":   passed,
	"D2":   passed,
	"D3":   skipped, // never sends slow_down, which RFC 8628 3.5 leaves to the server; the profile does not claim features.slow_down
	"D4":   passed,
	"D5":   skipped, // 5 min device code, no admin clock
	"D6":   failed,  // an approved device code yields tokens again
	"E1":   skipped, // 5 min access token, no admin clock
	"E2":   skipped,
	"E3":   passed,
	"I1":   passed,
	"I2":   passed, // refused with 401 text/plain: a warning (not RFC 6749 5.2's JSON error)
	"L1":   passed,
	"L2":   passed,
	"L3":   skipped, // no implicit client
	"M1":   passed,
	"M2":   passed,
	"R1":   passed,
	"R2":   passed,
	"R3":   passed,
	"R4":   failed, // replay refused, but the newest refresh token of the family still works
	"R5":   passed,
	"R6":   passed,
	"T1":   passed,
	"T2":   passed,
	"T3":   passed,
	"T4":   passed,
	"T5":   skipped, // opaque access tokens
	"T6":   skipped, // no admin API to rotate keys
	"T7":   failed,  // refresh tokens are UUID v4: 122 random bits
	"V1":   passed,
	"V2":   passed,
}

// TestSuitesVerdictsAgainstZitadel runs every check against the example OP
// and compares each verdict with expectedVerdicts. The suites run in this
// process: Ginkgo runs once per process, and this package's test binary runs
// it nowhere else.
func TestSuitesVerdictsAgainstZitadel(t *testing.T) {
	if _, err := flows.FindChrome(); err != nil {
		t.Skipf("no Chrome or Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	p := startProvider(t, ctx)
	outDir := t.TempDir()
	report, err := suites.Run(ctx, suites.Options{Target: p.target, OutDir: outDir, WriteResults: reports.WriteGinkgoResults, NoColor: true})
	var someFailed *suites.FailedError
	if err != nil && !errors.As(err, &someFailed) {
		t.Fatalf("suites.Run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outDir, "results.json")); err != nil {
		t.Errorf("results.json: %v", err)
	}

	verdicts.Compare(t, "zitadel example OP", report, expectedVerdicts)
}

// TestMain quiets the example OP's per-request log lines (it logs through the
// process-wide slog default), keeping its warnings and errors.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
