package suites

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
)

// TestEnvRedactorLearnsTypedPasswords: conform's redactor (evidence,
// results.json, the -v console) must hear of every password field the form
// driver fills, under the provider's own name for it: a three-character
// password in a field called "kw" matched neither the built-in field names
// nor the by-value rule (four bytes and up), and showed in the recorded login
// request.
func TestEnvRedactorLearnsTypedPasswords(t *testing.T) {
	const password = "q7z"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<form method="post" action="/login"><input name="user"><input name="kw" type="password"><button>Go</button></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:9/cb?code=x", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	target := &flows.Target{Issuer: srv.URL, User: flows.User{Username: "alice", Password: password}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(ctx, target, srv.URL, t.TempDir())
	jar, _ := cookiejar.New(nil)
	if _, err := flows.HTTPLoginToCallback(ctx, target, &http.Client{Jar: jar, Timeout: 10 * time.Second}, srv.URL+"/login", "http://127.0.0.1:9/cb"); err != nil {
		t.Fatal(err)
	}
	if got := e.redactor.String("user=alice&kw=" + password); strings.Contains(got, password) {
		t.Errorf("conform's redactor left the typed password in %q", got)
	}
}
