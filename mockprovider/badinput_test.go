package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// badRequests are hostile or malformed requests for every endpoint.
var badRequests = []struct{ method, target, contentType, body, auth string }{
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=%00%ff", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=refresh_token", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=password&username=alice", "Basic ZGVtby1sZWdhY3k6bGVnYWN5LXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=demo-public", ""},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic !!!"},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "Bearer abc"},
	{"POST", "/token", "multipart/form-data; boundary=x", "--x--", ""},
	{"POST", "/token", "application/x-www-form-urlencoded; charset=%", "a=b", ""},
	{"POST", "/token", "application/x-www-form-urlencoded", "scope=" + strings.Repeat("%20", 5000) + "&grant_type=client_credentials", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"PUT", "/token", "", "", ""},
	{"GET", "/authorize?client_id=demo&redirect_uri=%zz", "", "", ""},
	{"GET", "/authorize?client_id=demo&client_id=demo", "", "", ""},
	{"GET", "/authorize?client_id=demo&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&response_type=code&scope=%22%5C", "", "", ""},
	{"POST", "/authorize", "application/x-www-form-urlencoded", "client_id=demo", ""},
	{"POST", "/login", "application/x-www-form-urlencoded", "interaction=x&csrf_token=y", ""},
	{"POST", "/login", "text/plain", "x", ""},
	{"GET", "/login?interaction=nope", "", "", ""},
	{"POST", "/consent", "application/x-www-form-urlencoded", "decision=approve", ""},
	{"GET", "/consent", "", "", ""},
	{"POST", "/device", "application/x-www-form-urlencoded", "user_code=" + strings.Repeat("B", 100000), ""},
	{"GET", "/device?user_code=%3Cscript%3E", "", "", ""},
	{"POST", "/device_authorization", "application/x-www-form-urlencoded", "client_id=nobody", ""},
	{"GET", "/device_authorization", "", "", ""},
	{"POST", "/introspect", "application/x-www-form-urlencoded", "token=a&token=b", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/revoke", "application/json", "{}", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"GET", "/userinfo", "", "", "Bearer"},
	{"GET", "/userinfo", "", "", "Basic eDp5"},
	{"DELETE", "/userinfo", "", "", ""},
	{"POST", "/jwks", "", "", ""},
	{"GET", "/admin/clock", "", "", "Bearer x"},
	{"GET", "/nowhere", "", "", ""},
}

func TestBadInputNeverServerError(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	for _, bad := range badRequests {
		req := httptest.NewRequest(bad.method, bad.target, strings.NewReader(bad.body))
		if bad.contentType != "" {
			req.Header.Set("Content-Type", bad.contentType)
		}
		if bad.auth != "" {
			req.Header.Set("Authorization", bad.auth)
		}
		rec := httptest.NewRecorder()
		f.p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s: status %d", bad.method, truncate(bad.target, 60), rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<script>") {
			t.Errorf("%s %s: reflected markup unescaped", bad.method, bad.target)
		}
	}
}

// FuzzTokenEndpoint: whatever the body, the token endpoint answers with a
// JSON error or a token, never a 5xx or a panic.
func FuzzTokenEndpoint(f *testing.F) {
	for _, bad := range badRequests {
		if bad.target == "/token" {
			f.Add(bad.contentType, bad.body, bad.auth)
		}
	}
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic ZGVtbzpkZW1vLXNlY3JldA==")
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, contentType, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		fx.p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("no Cache-Control: no-store")
		}
	})
}
