package mockprovider

import (
	"encoding/base64"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/oauth"
)

// hostile is one hostile or malformed request and the answer it must get.
type hostile struct {
	name    string
	method  string
	target  string
	ct      string // Content-Type; "" sends none
	body    string
	auth    string // Authorization header
	status  int
	errCode oauth.ErrorCode // the RFC error code in the JSON body or the error page; "" to skip
}

const (
	form      = "application/x-www-form-urlencoded"
	demoBasic = "Basic ZGVtbzpkZW1vLXNlY3JldA==" // demo:demo-secret
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func hostileRequests() []hostile {
	megabyte := strings.Repeat("a", 1<<20)
	truncatedJWT := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0"
	foreignJWT := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL290aGVyLmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	var hs []hostile
	add := func(h hostile) { hs = append(hs, h) }

	// Token endpoint: transport and encoding.
	for _, ct := range []string{"", "text/plain", "application/json", "multipart/form-data; boundary=x", "application/x-www-form-urlencodedx", "application/x-www-form-urlencoded; ="} {
		add(hostile{"token content type " + ct, "POST", "/token", ct, "grant_type=client_credentials", demoBasic, 400, oauth.InvalidRequest})
	}
	add(hostile{"token 1 MiB body", "POST", "/token", form, "grant_type=client_credentials&x=" + megabyte, demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"token JSON body", "POST", "/token", form, `{"grant_type":"client_credentials"}`, demoBasic, 400, oauth.InvalidRequest})
	for _, body := range []string{"grant_type=%zz", "grant_type=client_credentials&%", "grant_type=client_credentials&scope=%e", "a=%G0"} {
		add(hostile{"token bad percent-encoding " + body, "POST", "/token", form, body, demoBasic, 400, oauth.InvalidRequest})
	}
	for _, param := range []string{"grant_type", "client_id", "scope", "code", "refresh_token", "code_verifier"} {
		add(hostile{"token duplicate " + param, "POST", "/token", form, "grant_type=client_credentials&" + param + "=a&" + param + "=b", demoBasic, 400, oauth.InvalidRequest})
	}
	for _, q := range []string{"client_secret=demo-secret", "grant_type=client_credentials", "code=abc"} {
		add(hostile{"token parameters in the query " + q, "POST", "/token?" + q, form, "grant_type=client_credentials", demoBasic, 400, oauth.InvalidRequest})
	}
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH"} {
		add(hostile{"token method " + m, m, "/token?grant_type=client_credentials", "", "", demoBasic, 405, oauth.InvalidRequest})
	}
	add(hostile{"token no grant_type", "POST", "/token", form, "scope=api.read", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"token invalid UTF-8 grant_type", "POST", "/token", form, "grant_type=%ff%fe", demoBasic, 400, oauth.UnsupportedGrantType})
	add(hostile{"token NUL grant_type", "POST", "/token", form, "grant_type=client_credentials%00", demoBasic, 400, oauth.UnsupportedGrantType})
	add(hostile{"token NUL scope", "POST", "/token", form, "grant_type=client_credentials&scope=api.read%00", demoBasic, 400, oauth.InvalidScope})
	add(hostile{"token invalid UTF-8 scope", "POST", "/token", form, "grant_type=client_credentials&scope=%c3%28", demoBasic, 400, oauth.InvalidScope})
	add(hostile{"token quote in scope", "POST", "/token", form, "grant_type=client_credentials&scope=%22", demoBasic, 400, oauth.InvalidScope})

	// Token endpoint: client authentication.
	for name, auth := range map[string]string{
		"wrong secret":         basic("demo", "nope"),
		"unknown client":       basic("mallory", "x"),
		"NUL in id":            basic("demo\x00", "demo-secret"),
		"no colon":             "Basic " + base64.StdEncoding.EncodeToString([]byte("demo")),
		"bad base64":           "Basic !!!notbase64!!!",
		"empty Basic":          "Basic ",
		"scheme only":          "Basic",
		"bearer scheme":        "Bearer abc",
		"huge base64":          "Basic " + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 48<<10))),
		"bad percent-encoding": basic("demo%zz", "demo-secret"),
		"public client secret": basic("demo-public", "guess"),
	} {
		add(hostile{"token Basic " + name, "POST", "/token", form, "grant_type=client_credentials", auth, 401, oauth.InvalidClient})
	}
	add(hostile{"token Basic and body secret", "POST", "/token", form, "grant_type=client_credentials&client_secret=demo-secret", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"token body id differs from Basic", "POST", "/token", form, "grant_type=client_credentials&client_id=demo-legacy", demoBasic, 401, oauth.InvalidClient})
	add(hostile{"token no authentication", "POST", "/token", form, "grant_type=client_credentials", "", 401, oauth.InvalidClient})
	add(hostile{"token confidential without secret", "POST", "/token", form, "grant_type=client_credentials&client_id=demo", "", 401, oauth.InvalidClient})
	add(hostile{"token public client with secret", "POST", "/token", form, "grant_type=authorization_code&client_id=demo-public&client_secret=x&code=a", "", 401, oauth.InvalidClient})

	// Token endpoint: grants with junk.
	for name, body := range map[string]string{
		"truncated JWT as code":           "grant_type=authorization_code&code=" + truncatedJWT,
		"foreign JWT as refresh token":    "grant_type=refresh_token&refresh_token=" + foreignJWT,
		"invalid UTF-8 code":              "grant_type=authorization_code&code=%ff%ff",
		"NUL refresh token":               "grant_type=refresh_token&refresh_token=%00",
		"huge code":                       "grant_type=authorization_code&code=" + strings.Repeat("c", 60000),
		"unknown device code":             "grant_type=" + url.QueryEscape(DeviceCodeGrantURN) + "&device_code=abc",
		"code with redirect path tricks":  "grant_type=authorization_code&code=abc&redirect_uri=" + url.QueryEscape("http://127.0.0.1/callback/../x"),
		"code with a verifier, no code":   "grant_type=authorization_code&code=x&code_verifier=" + strings.Repeat("a", 43),
		"refresh token with scope tricks": "grant_type=refresh_token&refresh_token=x&scope=" + url.QueryEscape("openid\x00admin"),
	} {
		status, code := 400, oauth.InvalidGrant
		if strings.Contains(body, "device_code") {
			status, code = 400, oauth.UnauthorizedClient // demo is not a device client
		}
		add(hostile{"token " + name, "POST", "/token", form, body, demoBasic, status, code})
	}
	add(hostile{"token empty code", "POST", "/token", form, "grant_type=authorization_code&code=", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"password grant for a non-password client", "POST", "/token", form, "grant_type=password&username=alice&password=wonderland", demoBasic, 400, oauth.UnauthorizedClient})
	add(hostile{"password grant NUL password", "POST", "/token", form, "grant_type=password&username=alice&password=wonderland%00", basic("demo-legacy", "legacy-secret"), 400, oauth.InvalidGrant})

	// Authorization endpoint: redirect URI tricks and broken requests (error page, never a redirect).
	for _, uri := range []string{
		"http://127.0.0.1/callback/../evil", "http://127.0.0.1/callback/%2e%2e/evil", "http://127.0.0.1/callback?x=1",
		"http://127.0.0.1/callback#frag", "http://127.0.0.1/callback/", "http://127.0.0.1@evil.example/callback",
		"http://evil.example\\@127.0.0.1/callback", "//evil.example/callback", "HTTP://127.0.0.1/callback",
		"http://127.0.0.1:80x/callback", "http://127.0.0.1:/callback", "javascript:alert(1)", "http://127.0.0.1/callback\x00",
		"http://user:pass@127.0.0.1/callback", "http://127.0.0.1.evil.example/callback", "https://127.0.0.1/callback",
	} {
		add(hostile{"authorize redirect " + uri, "GET", "/authorize?client_id=demo&response_type=code&redirect_uri=" + url.QueryEscape(uri), "", "", "", 400, oauth.InvalidRequest})
	}
	add(hostile{"authorize bad percent-encoding", "GET", "/authorize?client_id=demo&redirect_uri=%zz", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"authorize duplicate client_id", "GET", "/authorize?client_id=demo&client_id=demo-public", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"authorize duplicate redirect_uri", "GET", "/authorize?client_id=demo&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"authorize unknown client", "GET", "/authorize?client_id=mallory&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback", "", "", "", 400, oauth.InvalidClient})
	add(hostile{"authorize NUL client", "GET", "/authorize?client_id=demo%00", "", "", "", 400, oauth.InvalidClient})
	add(hostile{"authorize no client", "GET", "/authorize?response_type=code", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"authorize POST", "POST", "/authorize", form, "client_id=demo", "", 400, oauth.InvalidRequest})
	add(hostile{"authorize huge query", "GET", "/authorize?client_id=" + strings.Repeat("d", 30000), "", "", "", 400, oauth.InvalidClient})

	// Pages without their CSRF token or with junk.
	add(hostile{"login no CSRF", "POST", "/login", form, "interaction=x&username=alice&password=wonderland", "", 400, oauth.InvalidRequest})
	add(hostile{"login JSON", "POST", "/login", "application/json", `{"username":"alice"}`, "", 400, oauth.InvalidRequest})
	add(hostile{"login 1 MiB", "POST", "/login", form, "username=" + megabyte, "", 400, oauth.InvalidRequest})
	add(hostile{"login duplicate", "POST", "/login", form, "username=a&username=b", "", 400, oauth.InvalidRequest})
	add(hostile{"login unknown interaction", "GET", "/login?interaction=nope", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"consent no CSRF", "POST", "/consent", form, "interaction=x&decision=approve", "", 400, oauth.InvalidRequest})
	add(hostile{"consent unknown interaction", "GET", "/consent?interaction=%00", "", "", "", 400, oauth.InvalidRequest})
	add(hostile{"device no CSRF", "POST", "/device", form, "user_code=BCDF-GHJK", "", 400, oauth.InvalidRequest})
	add(hostile{"device bad encoding", "POST", "/device", form, "user_code=%zz", "", 400, oauth.InvalidRequest})

	// Device authorization.
	add(hostile{"device_authorization unknown client", "POST", "/device_authorization", form, "client_id=mallory", "", 401, oauth.InvalidClient})
	add(hostile{"device_authorization no client", "POST", "/device_authorization", form, "scope=openid", "", 401, oauth.InvalidClient})
	add(hostile{"device_authorization duplicate", "POST", "/device_authorization", form, "client_id=demo-public&client_id=demo-public", "", 400, oauth.InvalidRequest})
	add(hostile{"device_authorization bad scope", "POST", "/device_authorization", form, "client_id=demo-public&scope=%00", "", 400, oauth.InvalidScope})
	add(hostile{"device_authorization GET", "GET", "/device_authorization?client_id=demo-public", "", "", "", 405, oauth.InvalidRequest})
	add(hostile{"device_authorization JSON", "POST", "/device_authorization", "application/json", `{"client_id":"demo-public"}`, "", 400, oauth.InvalidRequest})

	// Introspection and revocation.
	add(hostile{"introspect no auth", "POST", "/introspect", form, "token=abc", "", 401, oauth.InvalidClient})
	add(hostile{"introspect public client", "POST", "/introspect", form, "token=abc&client_id=demo-public", "", 401, oauth.InvalidClient})
	add(hostile{"introspect bad Basic", "POST", "/introspect", form, "token=abc", "Basic %%%", 401, oauth.InvalidClient})
	add(hostile{"introspect duplicate token", "POST", "/introspect", form, "token=a&token=b", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"introspect no token", "POST", "/introspect", form, "", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"introspect JSON", "POST", "/introspect", "application/json", `{"token":"a"}`, demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"introspect GET", "GET", "/introspect?token=a", "", "", demoBasic, 405, oauth.InvalidRequest})
	add(hostile{"introspect 1 MiB", "POST", "/introspect", form, "token=" + megabyte, demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"revoke no auth", "POST", "/revoke", form, "token=abc", "", 401, oauth.InvalidClient})
	add(hostile{"revoke duplicate", "POST", "/revoke", form, "token=a&token=b", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"revoke no token", "POST", "/revoke", form, "token_type_hint=access_token", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"revoke JSON", "POST", "/revoke", "application/json", "{}", demoBasic, 400, oauth.InvalidRequest})
	add(hostile{"revoke query", "POST", "/revoke?token=abc", form, "token=abc", demoBasic, 400, oauth.InvalidRequest})

	// Userinfo.
	for name, auth := range map[string]string{
		"truncated JWT": "Bearer " + truncatedJWT, "foreign JWT": "Bearer " + foreignJWT, "two tokens": "Bearer a b",
		"empty bearer": "Bearer ", "NUL token": "Bearer \x00", "huge token": "Bearer " + strings.Repeat("t", 40000),
	} {
		code := oauth.InvalidToken
		if name == "empty bearer" {
			code = oauth.InvalidRequest
		}
		add(hostile{"userinfo " + name, "GET", "/userinfo", "", "", auth, 401, code})
	}
	add(hostile{"userinfo Basic", "GET", "/userinfo", "", "", demoBasic, 401, oauth.InvalidRequest})
	add(hostile{"userinfo DELETE", "DELETE", "/userinfo", "", "", "", 405, oauth.InvalidRequest})

	// Discovery and JWKS take GET only.
	add(hostile{"jwks POST", "POST", "/jwks", form, "", "", 405, oauth.InvalidRequest})
	add(hostile{"discovery POST", "POST", "/.well-known/openid-configuration", form, "", "", 405, oauth.InvalidRequest})

	// Admin API.
	add(hostile{"admin no token", "GET", "/admin/counters", "", "", "", 401, ""})
	add(hostile{"admin wrong token", "GET", "/admin/counters", "", "", "Bearer " + strings.Repeat("x", 16), 401, ""})
	add(hostile{"admin huge body", "POST", "/admin/clock/advance", "application/json", `{"seconds": 1, "pad": "` + megabyte + `"}`, "Bearer " + testAdminToken, 400, ""})
	add(hostile{"admin advance NaN", "POST", "/admin/clock/advance", "application/json", `{"seconds": "NaN"}`, "Bearer " + testAdminToken, 400, ""})
	add(hostile{"admin advance overflow", "POST", "/admin/clock/advance", "application/json", `{"seconds": 1e300}`, "Bearer " + testAdminToken, 400, ""})
	add(hostile{"admin unknown call", "POST", "/admin/../token", "", "", "Bearer " + testAdminToken, 404, ""})
	return hs
}

// TestHostileRequests sends every hostile request and checks the answer: the
// right 4xx and RFC error code, never a 5xx, a panic or a token.
func TestHostileRequests(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	hs := hostileRequests()
	if len(hs) < 100 {
		t.Fatalf("only %d hostile requests", len(hs))
	}
	t.Logf("%d hostile requests", len(hs))
	for _, h := range hs {
		req := httptest.NewRequest(h.method, "/", strings.NewReader(h.body))
		req.URL = mustParseRequestURI(t, h.target)
		req.RequestURI = h.target
		if h.ct != "" {
			req.Header.Set("Content-Type", h.ct)
		}
		if h.auth != "" {
			req.Header.Set("Authorization", h.auth)
		}
		rec := httptest.NewRecorder()
		f.p.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != h.status {
			t.Errorf("%s: status %d, want %d: %s", h.name, rec.Code, h.status, truncate(body, 200))
			continue
		}
		if strings.Contains(body, "access_token") || strings.Contains(body, "refresh_token\":") {
			t.Errorf("%s: a token in the answer", h.name)
		}
		if h.errCode == "" {
			continue
		}
		json := strings.Contains(body, `"error":"`+h.errCode.String()+`"`)
		page := strings.Contains(body, `id="error">`+h.errCode.String()+`<`)
		bearer := strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="`+h.errCode.String()+`"`)
		if !json && !page && !bearer {
			t.Errorf("%s: want error %s, got %s %q", h.name, h.errCode, truncate(body, 200), rec.Header().Get("WWW-Authenticate"))
		}
		if rec.Code >= 300 && rec.Code < 400 {
			t.Errorf("%s: redirected", h.name)
		}
	}
}

func mustParseRequestURI(t *testing.T, target string) *url.URL {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		// Targets with raw junk: keep the path and the raw query as sent.
		path, query, _ := strings.Cut(target, "?")
		return &url.URL{Path: path, RawQuery: query}
	}
	return u
}
