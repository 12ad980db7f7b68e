package flows

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/redact"
)

// TestFormDriverRegistersPasswordFields: the provider calls its password
// input "kw" (a text input the profile's selector points at) and has a second
// input of type password ("pin", prefilled); the user's password is three
// characters, too short for the redactor to find by value. The driver must
// tell the registered redactor both fields before it posts the form, so the
// recorded login request, redacted, shows neither value: without that, -v and
// the evidence showed "kw=q7z".
func TestFormDriverRegistersPasswordFields(t *testing.T) {
	const password, pin = "q7z", "81"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<form method="post" action="/signin"><input name="usr">
<input id="pw" name="kw" type="text"><input name="pin" type="password" value="`+pin+`">
<button type="submit">Sign in</button></form>`)
	})
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("kw") != password || r.PostFormValue("pin") != pin || r.PostFormValue("usr") != "alice" {
			http.Error(w, "bad login", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, "http://127.0.0.1:9/cb?code=c0de-value-1234&state=s", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	target := &Target{Issuer: srv.URL, User: User{Username: "alice", Password: password},
		Browser: Selectors{Login: LoginSelectors{Username: "input[name=usr]", Password: "#pw"}}}
	red := redact.New(target.User.Password) // what every command registers; too short to count
	target.RegisterSecretsWith(red)

	rec := NewRecorder(RecordAll)
	d := &pageDriver{t: target, client: &http.Client{Transport: NewRecordingTransport(nil), CheckRedirect: noRedirects}, rec: rec}
	req, err := newGet(srv.URL + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	redirect, _ := url.Parse("http://127.0.0.1:9/cb")
	out, err := d.drive(ctx, req, "authorize", redirect)
	if err != nil || out.callback == nil {
		t.Fatalf("drive: %v, %+v", err, out)
	}
	var login string
	for _, ex := range rec.Exchanges() {
		if ex.Step == "login" {
			login = red.Exchange(ex).RequestBody
		}
	}
	if !strings.Contains(login, "usr=alice") {
		t.Fatalf("no login request recorded (or redacted too much): %q", login)
	}
	for name, value := range map[string]string{"kw": password, "pin": pin} {
		if strings.Contains(login, name+"="+value) {
			t.Errorf("the recorded login request shows %s=%s: %s", name, value, login)
		}
	}
	if got := red.String("kw=" + password); strings.Contains(got, password) {
		t.Errorf("the redactor does not know the field kw: %s", got)
	}
}
