package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/oauth"
)

// FuzzAuthorizeRequest: whatever the query, /authorize never answers 5xx,
// and it only ever redirects to a URI registered for the client named.
func FuzzAuthorizeRequest(f *testing.F) {
	f.Add("client_id=demo&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback&response_type=code&state=x")
	f.Add("client_id=demo-public&redirect_uri=http%3A%2F%2Flocalhost%2Fcallback&response_type=code&code_challenge_method=plain&code_challenge=abc")
	f.Add("client_id=demo-legacy&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&response_type=token&scope=api.read&prompt=none")
	f.Add("client_id=demo&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback%2F..%2Fevil&response_type=code")
	f.Add("client_id=demo&client_id=demo&redirect_uri=%zz")
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		fx.p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, query)
		}
		if rec.Code < 300 || rec.Code >= 400 {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatalf("redirected for an unparseable query %q", query)
		}
		client := fx.p.client(q.Get("client_id"))
		if client == nil {
			t.Fatalf("redirected for an unknown client: %q", query)
		}
		loc := rec.Header().Get("Location")
		for _, registered := range client.RedirectURIs {
			base, _, _ := strings.Cut(loc, "?")
			base, _, _ = strings.Cut(base, "#")
			if base == registered || loopbackMatch(registered, base) {
				return
			}
		}
		t.Fatalf("redirected to %q, not a registered URI of %s", loc, client.ID)
	})
}

// FuzzClientAuthentication: only the right secret (or a public client
// naming itself) authenticates, whatever the header and body hold.
func FuzzClientAuthentication(f *testing.F) {
	f.Add("Basic ZGVtbzpkZW1vLXNlY3JldA==", "")
	f.Add("", "client_id=demo&client_secret=demo-secret")
	f.Add("", "client_id=demo-public")
	f.Add("Basic ZGVtbzo=", "client_id=demo")
	f.Add("Basic !!!", "client_secret=x")
	f.Add("Bearer x", "client_id=demo-legacy&client_secret=legacy-secret")
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, authorization, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/token", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		c, oerr := fx.p.authenticateClient(req, form)
		if oerr != nil {
			if oerr.code != oauth.InvalidClient && oerr.code != oauth.InvalidRequest {
				t.Fatalf("error code %s", oerr.code)
			}
			return
		}
		if c.Public {
			return // a public client authenticates by naming itself
		}
		user, pass, basic := req.BasicAuth()
		if basic {
			id, _ := url.QueryUnescape(user)
			secret, _ := url.QueryUnescape(pass)
			if id != c.ID || secret != c.Secret {
				t.Fatalf("authenticated %s with Basic %q:%q", c.ID, id, secret)
			}
			return
		}
		if form.Get("client_id") != c.ID || form.Get("client_secret") != c.Secret {
			t.Fatalf("authenticated %s with body %q", c.ID, body)
		}
	})
}
