package goapp

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// rewriteJSON answers path with the mock's JSON answer edited by edit; the
// stimuli the mock cannot produce itself yet (P12, P18) are made this way.
func rewriteJSON(path string, edit func(map[string]any)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
				maps.Copy(w.Header(), rec.Header())
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			edit(body)
			out, _ := json.Marshal(body)
			maps.Copy(w.Header(), rec.Header())
			w.Header().Set("Content-Length", strconv.Itoa(len(out)))
			w.WriteHeader(rec.Code)
			w.Write(out)
		})
	}
}

// answerToken replaces the token endpoint's answer.
func answerToken(answer http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				answer(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestResponseChecksAndTheirBugs: the token response and userinfo checks
// (P12, P18) refuse in the clean app and are off with their bug only.
func TestResponseChecksAndTheirBugs(t *testing.T) {
	cases := []struct {
		name string
		wrap func(http.Handler) http.Handler
		bug  Bug
	}{
		{"token_type_not_bearer", rewriteJSON("/token", func(b map[string]any) { b["token_type"] = "mac" }), BugSkipTokenResponseChecks},
		{"token_no_id_token", rewriteJSON("/token", func(b map[string]any) { delete(b, "id_token") }), BugSkipTokenResponseChecks},
		{"userinfo_other_sub", rewriteJSON("/userinfo", func(b map[string]any) { b["sub"] = "mallory" }), BugSkipUserinfoSub},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, bugs := range []BugSet{nil, {BugSkipIss: true, BugSkipNonce: true, BugSkipState: true}, {c.bug: true}} {
				f := newWrappedFixture(t, bugs, c.wrap)
				b := newBrowser(t)
				_, at, body := f.login(t, b)
				want := bugs.Has(c.bug)
				if got := f.loggedIn(t, b); got != want {
					t.Fatalf("bugs %q: logged in %v, want %v (ended at %s: %q)", bugs, got, want, at.Path, body)
				}
				if !want && (strings.Contains(body, "alice") || !strings.Contains(body, "login refused")) {
					t.Fatalf("bugs %q: the refusal page is %q", bugs, body)
				}
			}
		})
	}
}

// TestTokenErrors: invalid_grant, 503 and a reset connection give an error
// page in the clean app and a 500 with crash_on_token_error (P17).
func TestTokenErrors(t *testing.T) {
	answers := map[string]http.HandlerFunc{
		"invalid_grant": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
		},
		"503": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"temporarily_unavailable"}`))
		},
		"reset": func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			for _, crash := range []bool{false, true} {
				f := newWrappedFixture(t, BugSet{BugCrashOnTokenError: crash}, answerToken(answer))
				b := newBrowser(t)
				status, _, body := f.login(t, b)
				if crash != (status == http.StatusInternalServerError) || status >= 500 && !crash {
					t.Fatalf("crash_on_token_error=%v: the callback answered %d: %q", crash, status, body)
				}
				if strings.Contains(body, "alice") || f.loggedIn(t, b) {
					t.Fatal("logged in without a token")
				}
			}
		})
	}
}
