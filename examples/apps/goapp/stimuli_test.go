package goapp

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/mockprovider"
)

// stimulusCases pairs each of the mock's RP stimuli (contract section 1) with
// the bug switch that must let it through (or, for the positive checks P10
// and P11, make the app refuse a good login).
var stimulusCases = []struct {
	stimulus mockprovider.RPStimulus
	bug      Bug
	positive bool // the clean app must log in
	tokenErr bool // P17: never logged in; the bug answers 500
}{
	{mockprovider.RPIDTokenOtherIss, BugSkipIss, false, false},
	{mockprovider.RPIDTokenOtherAud, BugSkipAud, false, false},
	{mockprovider.RPIDTokenNoAud, BugSkipAud, false, false},
	{mockprovider.RPIDTokenBadSignature, BugSkipSignature, false, false},
	{mockprovider.RPIDTokenAlgNone, BugAcceptAlgNone, false, false},
	{mockprovider.RPIDTokenHS256Secret, BugAcceptAnyAlg, false, false},
	{mockprovider.RPIDTokenExpired, BugSkipExp, false, false},
	{mockprovider.RPIDTokenNoIat, BugSkipIat, false, false},
	{mockprovider.RPIDTokenIatFuture, BugSkipIat, false, false},
	{mockprovider.RPIDTokenOtherNonce, BugSkipNonce, false, false},
	{mockprovider.RPIDTokenNoNonce, BugSkipNonce, false, false},
	{mockprovider.RPIDTokenNoSub, BugSkipSub, false, false},
	{mockprovider.RPJWKSSingleKeyNoKid, BugRequireKid, true, false},
	{mockprovider.RPRotateKeyBeforeSigning, BugCacheJWKSForever, true, false},
	{mockprovider.RPUserinfoOtherSub, BugSkipUserinfoSub, false, false},
	{mockprovider.RPStateDropped, BugSkipState, false, false},
	{mockprovider.RPResponseIssOther, BugSkipResponseIss, false, false},
	{mockprovider.RPTokenInvalidGrant, BugCrashOnTokenError, false, true},
	{mockprovider.RPToken503, BugCrashOnTokenError, false, true},
	{mockprovider.RPTokenReset, BugCrashOnTokenError, false, true},
	{mockprovider.RPTokenStall, BugCrashOnTokenError, false, true},
	{mockprovider.RPTokenNoIDToken, BugSkipTokenResponseChecks, false, false},
	{mockprovider.RPTokenTypeNotBearer, BugSkipTokenResponseChecks, false, false},
}

// TestStimulusMatrix runs, for each stimulus, the clean app, the app with
// the stimulus's bug, and the app with every other bug at once: only the
// stimulus's own bug changes the outcome. Each run first logs in normally
// (so a JWKS is cached before rotate_key_before_signing), then once more
// under the stimulus in a fresh browser.
func TestStimulusMatrix(t *testing.T) {
	covered := map[Bug]bool{}
	for _, c := range stimulusCases {
		covered[c.bug] = true
		t.Run(string(c.stimulus), func(t *testing.T) {
			others := BugSet{}
			for _, b := range Bugs() {
				if b.Name != c.bug {
					others[b.Name] = true
				}
			}
			for _, bugs := range []BugSet{nil, {c.bug: true}, others} {
				opts := fixtureOptions{bugs: bugs}
				if c.stimulus == mockprovider.RPTokenStall {
					// The mock's 10 s stall against a 1 s app timeout: the
					// margin keeps a loaded machine from failing the normal login.
					opts.tokenTimeout = time.Second
				}
				f := startFixture(t, opts)
				b := newBrowser(t)
				f.login(t, b)
				if !f.loggedIn(t, b) {
					t.Fatalf("bugs %q: the normal login failed", bugs)
				}
				if err := f.mock.SetRPStimuli(testClientID, c.stimulus); err != nil {
					t.Fatal(err)
				}
				b = newBrowser(t)
				start := time.Now()
				status, at, body := f.login(t, b)
				in := f.loggedIn(t, b)
				buggy := bugs.Has(c.bug)
				switch {
				case c.tokenErr:
					if in || strings.Contains(body, "alice") {
						t.Fatalf("bugs %q: logged in through a failed token request", bugs)
					}
					if buggy != (status == http.StatusInternalServerError) || !buggy && status >= 500 {
						t.Fatalf("bugs %q: the callback answered %d: %q", bugs, status, body)
					}
					if took := time.Since(start); took > mockprovider.DefaultRPTokenStall/2 {
						t.Fatalf("bugs %q: the failed login took %v", bugs, took)
					}
				case in != (c.positive != buggy):
					t.Fatalf("bugs %q: logged in %v (ended at %s, %d: %q)", bugs, in, at.Path, status, body)
				case !in && strings.Contains(body, "alice"):
					t.Fatalf("bugs %q: the refusal page names the user: %q", bugs, body)
				}
			}
		})
	}
	// What the stimuli cannot show is tested elsewhere: P15 (no_pkce,
	// fixed_state) and P19 (weak_cookie) in TestLoginRequestAndCookies, P16
	// (replayable_callback) in TestStateAndVerifierAreSingleUse.
	for _, b := range Bugs() {
		switch b.Name {
		case BugNoPKCE, BugFixedState, BugWeakCookie, BugReplayableCallback:
			continue
		}
		if !covered[b.Name] {
			t.Errorf("no stimulus exercises %s", b.Name)
		}
	}
}
