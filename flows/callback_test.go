package flows

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCallbackListenerQuery(t *testing.T) {
	l, err := ListenCallback("http://127.0.0.1/callback")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, _ := url.Parse(l.RedirectURI())
	if u.Port() == "" || u.Hostname() != "127.0.0.1" || u.Path != "/callback" {
		t.Fatalf("RedirectURI = %q, want an ephemeral port on 127.0.0.1", l.RedirectURI())
	}
	if _, ok := l.Received(); ok {
		t.Fatal("Received before any request")
	}
	resp, err := http.Get(l.RedirectURI() + "?code=abc&state=xyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), callbackDoneID) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("done page = %q, headers %v", body, resp.Header)
	}
	// A second response is ignored: only the first counts.
	if resp, err := http.Get(l.RedirectURI() + "?code=other"); err == nil {
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cb, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Fragment || cb.Params.Get("code") != "abc" || cb.Params.Get("state") != "xyz" {
		t.Errorf("callback = %+v", cb)
	}
	if resp, err := http.Get(strings.Replace(l.RedirectURI(), "/callback", "/favicon.ico", 1)); err == nil {
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("other path: status %d, want 404", resp.StatusCode)
		}
		resp.Body.Close()
	}
}

func TestCallbackListenerFragment(t *testing.T) {
	l, err := ListenCallback("http://localhost/cb")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(l.RedirectURI(), "http://localhost:") {
		t.Errorf("RedirectURI = %q, want the host kept as localhost", l.RedirectURI())
	}
	// Without a query the listener serves the page that posts location.hash.
	resp, err := http.Get(l.RedirectURI())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "location.hash") {
		t.Fatalf("no fragment page: %q", page)
	}
	// What that script sends:
	resp, err = http.Post(l.RedirectURI(), "application/x-www-form-urlencoded", strings.NewReader("access_token=tok&state=s1&token_type=Bearer"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cb, err := l.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cb.Fragment || cb.Params.Get("access_token") != "tok" || cb.Params.Get("state") != "s1" {
		t.Errorf("callback = %+v", cb)
	}
}

func TestCallbackListenerRefusesNonLoopbackAndTimesOut(t *testing.T) {
	for _, uri := range []string{"https://app.example.com/cb", "http://10.0.0.1/cb", "https://127.0.0.1/cb"} {
		var ue *UnsupportedError
		if _, err := ListenCallback(uri); !errors.As(err, &ue) {
			t.Errorf("ListenCallback(%q) error = %v, want *UnsupportedError", uri, err)
		}
	}
	l, err := ListenCallback("http://127.0.0.1/cb")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context = %v", err)
	}
}

func TestMatchesRedirect(t *testing.T) {
	sent, _ := url.Parse("http://127.0.0.1/callback")
	fixed, _ := url.Parse("https://app.example/cb")
	for _, tc := range []struct {
		loc  string
		sent *url.URL
		want bool
	}{
		{"http://127.0.0.1:4567/callback?code=1", sent, true},
		{"http://127.0.0.1/callback#access_token=1", sent, true},
		{"http://127.0.0.1:4567/callbackx", sent, false},
		{"http://localhost:4567/callback", sent, false},
		{"https://app.example/cb?code=1", fixed, true},
		{"https://app.example:8443/cb?code=1", fixed, false},
	} {
		loc, _ := url.Parse(tc.loc)
		if got := matchesRedirect(loc, tc.sent); got != tc.want {
			t.Errorf("matchesRedirect(%s, %s) = %v", tc.loc, tc.sent, got)
		}
	}
}

// TestCallbackListenerWithoutPage: a browser flow's listener answers the
// query response with 204 (the browser loads no page), and still has it.
func TestCallbackListenerWithoutPage(t *testing.T) {
	l, err := ListenCallback("http://127.0.0.1/callback")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.AnswerWithoutPage()
	resp, err := http.Get(l.RedirectURI() + "?code=abc&state=xyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("status %d, body %q; want 204 and no page", resp.StatusCode, body)
	}
	cb, ok := l.Received()
	if !ok || cb.Params.Get("code") != "abc" || cb.Fragment {
		t.Errorf("received %+v, %v", cb, ok)
	}
	// The fragment page is still served: its script posts the fragment back.
	resp, err = http.Get(l.RedirectURI())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "location.hash") {
		t.Errorf("fragment page = %q", body)
	}
}
