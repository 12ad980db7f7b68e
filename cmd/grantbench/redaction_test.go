package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/redact"
)

// TestCommandRedactorLearnsTypedPasswords: load and demo print through a
// redactor that hears of every password field the form driver fills (a
// three-character password in a field called "kw" matched no rule before),
// and the error a command ends with is redacted yet keeps its exit code.
func TestCommandRedactorLearnsTypedPasswords(t *testing.T) {
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

	target := &flows.Target{Issuer: srv.URL, User: flows.User{Username: "alice", Password: password},
		Clients: flows.Clients{Confidential: &flows.Client{ClientID: "app", ClientSecret: "app-secret-value"}}}
	r := redact.New()
	useTargetSecrets(r, target)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jar, _ := cookiejar.New(nil)
	if _, err := flows.HTTPLoginToCallback(ctx, target, &http.Client{Jar: jar, Timeout: 10 * time.Second}, srv.URL+"/login", "http://127.0.0.1:9/cb"); err != nil {
		t.Fatal(err)
	}
	var console strings.Builder
	w := r.Writer(&console)
	fmt.Fprintln(w, "load: posted user=alice&kw="+password+" with app-secret-value")
	w.Flush()
	if strings.Contains(console.String(), password) || strings.Contains(console.String(), "app-secret-value") {
		t.Errorf("the console shows a secret: %q", console.String())
	}
	err := redactedError(r, failedErrorf("load: setup: kw=%s refused", password))
	var ee *exitError
	if strings.Contains(err.Error(), password) || !errors.As(err, &ee) || ee.code != exitFailed {
		t.Errorf("redacted error %q (exit code kept: %v)", err, errors.As(err, &ee))
	}
}
