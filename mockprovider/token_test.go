package mockprovider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/grantbench/grantbench/oauth"
)

// verifyAccessToken checks an RFC 9068 access token against the JWKS and
// returns its claims.
func verifyAccessToken(t *testing.T, f *fixture, token string, alg jose.SignatureAlgorithm) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatal(err)
	}
	if typ := parsed.Headers[0].ExtraHeaders["typ"]; typ != "at+jwt" {
		t.Fatalf("typ = %v, want at+jwt", typ)
	}
	var claims map[string]any
	if err := parsed.Claims(fetchJWKS(t, f), &claims); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"iss", "sub", "aud", "client_id", "jti", "iat", "exp"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("claim %s missing", name)
		}
	}
	return claims
}

func fetchJWKS(t *testing.T, f *fixture) *jose.JSONWebKeySet {
	t.Helper()
	resp, err := f.srv.Client().Get(f.url("/jwks"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := decodeJSON(resp, &set); err != nil {
		t.Fatal(err)
	}
	return &set
}

func TestTokenEndpointErrors(t *testing.T) {
	f := newFixture(t, nil)
	basic := func(form url.Values, user, pass string) (*http.Response, map[string]any) {
		return f.postForm(t, "/token", form, user, pass)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}

	resp, body := basic(cc, "demo", "wrong")
	wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("C2: WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
	}
	resp, body = basic(url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"wrong"}}, "", "")
	wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
	resp, body = basic(url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {"x"}}, "", "")
	wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
	resp, body = basic(cc, "demo-legacy", "legacy-secret")
	wantOAuthError(t, resp, body, 400, oauth.UnauthorizedClient)
	resp, body = basic(url.Values{"grant_type": {"urn:example:nope"}}, "demo", "demo-secret")
	wantOAuthError(t, resp, body, 400, oauth.UnsupportedGrantType)
	resp, body = basic(url.Values{"grant_type": {"client_credentials"}, "scope": {"api.read admin"}}, "demo", "demo-secret")
	wantOAuthError(t, resp, body, 400, oauth.InvalidScope)
	resp, body = basic(url.Values{}, "demo", "demo-secret")
	wantOAuthError(t, resp, body, 400, oauth.InvalidRequest)
	resp, body = basic(url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "demo", "demo-secret")
	wantOAuthError(t, resp, body, 400, oauth.InvalidRequest)

	// C7: GET, and credentials in the query.
	req, _ := http.NewRequest(http.MethodGet, f.url("/token?grant_type=client_credentials&client_id=demo&client_secret=demo-secret"), nil)
	resp, body = doJSON(t, f.srv.Client(), req)
	wantOAuthError(t, resp, body, 405, oauth.InvalidRequest)
	req, _ = http.NewRequest(http.MethodPost, f.url("/token?client_secret=demo-secret"), strings.NewReader("grant_type=client_credentials&client_id=demo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = doJSON(t, f.srv.Client(), req)
	wantOAuthError(t, resp, body, 400, oauth.InvalidRequest)

	// C8: bad encoding, wrong content type, 1 MiB body.
	for name, tc := range map[string]struct{ ct, body string }{
		"bad encoding": {"application/x-www-form-urlencoded", "grant_type=%zz"},
		"json body":    {"application/json", `{"grant_type":"client_credentials"}`},
		"1 MiB":        {"application/x-www-form-urlencoded", "grant_type=client_credentials&pad=" + strings.Repeat("a", 1<<20)},
	} {
		req, _ := http.NewRequest(http.MethodPost, f.url("/token"), strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		req.SetBasicAuth("demo", "demo-secret")
		resp, body := doJSON(t, f.srv.Client(), req)
		t.Run(name, func(t *testing.T) { wantOAuthError(t, resp, body, 400, oauth.InvalidRequest) })
	}
}
