package flows

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWaitPage checks the in-page wait on pages of its own: a hidden element
// never decides the page, an element a script adds later is found, and a
// document another flow's late evaluation marked is still new to this flow
// (in a reused tab the previous flow's last wait can land there).
func TestWaitPage(t *testing.T) {
	pages := map[string]string{
		"/hidden": `<!doctype html><input id="username" style="display:none"><div style="visibility:hidden"><button id="deny">x</button></div><button id="approve">Approve</button>`,
		"/late":   `<!doctype html><body><script>setTimeout(function(){var b=document.createElement("button");b.id="approve";b.textContent="Approve";document.body.appendChild(b)},150)</script></body>`,
		"/form": `<!doctype html><form method="post" action="/posted"><input id="username" name="u"><input id="password" name="p" type="password">` +
			`<button id="go" disabled>Go</button></form><script>document.getElementById("password").addEventListener("input",function(){document.getElementById("go").disabled=false})</script>`,
	}
	var posted = make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/posted" {
			body, _ := io.ReadAll(r.Body)
			posted <- string(body)
			io.WriteString(w, `<!doctype html><p id="done">ok</p>`)
			return
		}
		io.WriteString(w, pages[r.URL.Path])
	}))
	t.Cleanup(srv.Close)
	b := newTestBrowser(t)
	tab, err := b.tab(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.release(tab, false)
	wait := func(path string, sels []string, mark string, within time.Duration) (int, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab.ctx, within)
		defer cancel()
		if path != "" {
			if _, err := navigate(ctx, srv.URL+path); err != nil {
				t.Fatalf("navigate %s: %v", path, err)
			}
		}
		return waitPage(ctx, sels, mark, nil)
	}

	if idx, err := wait("/hidden", []string{"#username", "#deny", "#approve"}, "one", 10*time.Second); err != nil || idx != 2 {
		t.Errorf("hidden fields: index %d, %v; want 2 (#approve, the only visible one)", idx, err)
	}
	// The same flow's next wait on the same document: seen, so no match.
	if idx, err := wait("", []string{"#approve"}, "one", 400*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a document the flow has acted on matched again: index %d, %v", idx, err)
	}
	// Another flow's mark does not hide the document from this flow.
	if idx, err := wait("", []string{"#approve"}, "two", 5*time.Second); err != nil || idx != 0 {
		t.Errorf("a document marked by another flow: index %d, %v; want a match", idx, err)
	}
	if idx, err := wait("/late", []string{"#username", "#approve"}, "three", 10*time.Second); err != nil || idx != 1 {
		t.Errorf("element added by a script: index %d, %v", idx, err)
	}

	// The form: values typed, the button enabled by the page, then clicked.
	if _, err := wait("/form", []string{"#username"}, "four", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, submitForm([][2]string{{"#username", "alice"}, {"#password", "s3cret pass"}}, "#go")); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-posted:
		if body != "u=alice&p=s3cret+pass" {
			t.Errorf("posted %q", body)
		}
	case <-ctx.Done():
		t.Fatal("the form was not submitted")
	}
	err = chromedp.Do(ctx, submitForm(nil, "#no-such-button"))
	var exc *chromedp.ExceptionError
	if !errors.As(err, &exc) {
		t.Errorf("missing button: %v, want a script exception naming it", err)
	}
}
