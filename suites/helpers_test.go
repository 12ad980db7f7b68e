package suites

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
)

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRedirectParams(t *testing.T) {
	const registered = "http://127.0.0.1/callback"
	tests := []struct {
		name     string
		status   int
		location string
		wantOK   bool
		wantErr  string
	}{
		{"error in the query, any loopback port", http.StatusFound, "http://127.0.0.1:5555/callback?error=invalid_request&state=s", true, "invalid_request"},
		{"error in the fragment", http.StatusSeeOther, "http://127.0.0.1/callback#error=access_denied", true, "access_denied"},
		{"another path", http.StatusFound, "http://127.0.0.1/callback/x?error=invalid_request", false, ""},
		{"another host", http.StatusFound, "http://localhost/callback?error=invalid_request", false, ""},
		{"not a redirect", http.StatusOK, "http://127.0.0.1/callback?error=invalid_request", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &response{Status: tc.status, Location: mustURL(t, tc.location)}
			params, ok := redirectParams(r, registered)
			if ok != tc.wantOK {
				t.Fatalf("redirect to the client = %v, want %v", ok, tc.wantOK)
			}
			if ok && params.Get("error") != tc.wantErr {
				t.Fatalf("error = %q, want %q", params.Get("error"), tc.wantErr)
			}
		})
	}
	if _, ok := redirectParams(&response{Status: http.StatusFound}, registered); ok {
		t.Fatal("a redirect without Location counted as one to the client")
	}
	// A registered URI with a port matches only that port.
	if sameEndpoint(mustURL(t, "http://127.0.0.1:81/cb"), "http://127.0.0.1:80/cb") {
		t.Fatal("a different port matched a registered port")
	}
}

func TestRedirectsTo(t *testing.T) {
	r := &response{Status: http.StatusFound, Location: mustURL(t, "https://attacker.invalid/callback?code=x")}
	if !redirectsTo(r, "https://attacker.invalid/callback") {
		t.Fatal("a redirect to the attacker was not seen")
	}
	if redirectsTo(&response{Status: http.StatusBadRequest}, "https://attacker.invalid/") {
		t.Fatal("an error page counted as a redirect")
	}
}

func TestOtherRedirectURI(t *testing.T) {
	tests := map[string]string{
		"http://127.0.0.1:8080/callback": "http://127.0.0.1:8081/callback",
		"http://127.0.0.1:65535/cb":      "http://127.0.0.1:1/cb",
		"https://app.example/callback":   "https://app.example/callback/other",
	}
	for in, want := range tests {
		if got := otherRedirectURI(in); got != want {
			t.Errorf("otherRedirectURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCacheDirectives(t *testing.T) {
	h := http.Header{}
	h.Add("Cache-Control", "private, No-Store")
	h.Add("Cache-Control", "max-age=0")
	got := cacheDirectives(h)
	want := []string{"private", "no-store", "max-age=0"}
	if !slices.Equal(got, want) {
		t.Fatalf("cacheDirectives = %q, want %q", got, want)
	}
}

func TestGrantedScopes(t *testing.T) {
	asked := []string{"openid", "offline_access"}
	if got := grantedScopes(tokenResponse{}, asked); !slices.Equal(got, asked) {
		t.Fatalf("an omitted scope means the one asked (RFC 6749 5.1); got %q", got)
	}
	if got := grantedScopes(tokenResponse{Scope: "openid  api.read"}, asked); !slices.Equal(got, []string{"openid", "api.read"}) {
		t.Fatalf("scope not split on spaces: %q", got)
	}
}

func TestParseTokenResponse(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"a","token_type":"Bearer","expires_in":3600}`,
		`{"access_token":"a","token_type":"Bearer","expires_in":"3600"}`,
	} {
		tr := parseTokenResponse(&response{Status: 200, Body: []byte(body)})
		if !tr.HasExpiresIn || tr.ExpiresIn != time.Hour {
			t.Fatalf("%s: expires_in = %v (%v)", body, tr.ExpiresIn, tr.HasExpiresIn)
		}
	}
}

func TestMachineScopes(t *testing.T) {
	got := machineScopes(clientWithScopes("openid", "api.read", "offline_access", "api.write"))
	if !slices.Equal(got, []string{"api.read", "api.write"}) {
		t.Fatalf("machineScopes = %q", got)
	}
}

func clientWithScopes(scopes ...string) *flows.Client {
	return &flows.Client{ClientID: "c", Scopes: scopes}
}
