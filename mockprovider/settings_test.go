package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/oauth"
)

// Each setting changes the behaviour its description names; the clean
// behaviour is tested beside each endpoint.
func TestSettingsChangeTheirBehaviour(t *testing.T) {
	withSetting := func(t *testing.T, name string) *fixture {
		t.Helper()
		return newFixture(t, func(c *Config) {
			if err := c.ApplySetting(name); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("lenient_form_encoding", func(t *testing.T) {
		f := withSetting(t, "lenient_form_encoding")
		req, _ := http.NewRequest(http.MethodPost, f.url("/token"), strings.NewReader("grant_type=client_credentials&scope=%zz"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		resp, body := doJSON(t, f.srv.Client(), req)
		// %zz is read as the scope "%zz", unknown to the client.
		wantOAuthError(t, resp, body, http.StatusBadRequest, oauth.InvalidScope)
	})
	t.Run("drop_unknown_scopes", func(t *testing.T) {
		f := withSetting(t, "drop_unknown_scopes")
		form := ccForm()
		form.Set("scope", "api.read grantbench.unknown")
		resp, body := f.postForm(t, "/token", form, "demo", "demo-secret")
		if resp.StatusCode != 200 || body["scope"] != "api.read" {
			t.Fatalf("want 200 with scope api.read; got %d %v", resp.StatusCode, body)
		}
		form.Set("scope", "grantbench.unknown")
		resp, body = f.postForm(t, "/token", form, "demo", "demo-secret")
		wantOAuthError(t, resp, body, http.StatusBadRequest, oauth.InvalidScope)
	})
	for name, want := range map[string]struct {
		status int
		code   oauth.ErrorCode
	}{
		"introspection_400":             {http.StatusBadRequest, oauth.InvalidClient},
		"introspection_invalid_request": {http.StatusBadRequest, oauth.InvalidRequest},
	} {
		t.Run(name, func(t *testing.T) {
			f := withSetting(t, name)
			resp, body := f.postForm(t, "/introspect", url.Values{"token": {ccToken(t, f)}}, "", "")
			wantOAuthError(t, resp, body, want.status, want.code)
			// A wrong secret in the Authorization header still gets 401.
			resp, body = f.postForm(t, "/introspect", url.Values{"token": {"x"}}, "demo", "wrong")
			wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
		})
	}
	t.Run("never_slow_down", func(t *testing.T) {
		f := withSetting(t, "never_slow_down")
		code, _ := startDevice(t, f)
		pollDevice(t, f, code)
		if got := pollDevice(t, f, code); got != oauth.AuthorizationPending {
			t.Fatalf("a fast second poll got %q, want authorization_pending", got)
		}
	})
	t.Run("opaque_access_tokens", func(t *testing.T) {
		f := withSetting(t, "opaque_access_tokens")
		if token := ccToken(t, f); strings.Count(token, ".") == 2 {
			t.Fatalf("access token %q... looks like a JWT", token[:10])
		}
	})
	// The fairness settings of the authorization endpoint and the pages are
	// tested in behaviour_test.go.
	if len(Settings()) != 6+len(pageSettings) {
		t.Errorf("%d settings, %d tested here and %d in behaviour_test.go", len(Settings()), 6, len(pageSettings))
	}
}

func TestApplySettingUnknown(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplySetting("no_such_setting"); err == nil || !strings.Contains(err.Error(), "no_such_setting") {
		t.Fatalf("unknown setting: %v", err)
	}
	if _, err := ParseConfig([]byte("behaviour: {unauthenticated_introspection: 402}")); err == nil ||
		!strings.Contains(err.Error(), "behaviour.unauthenticated_introspection") {
		t.Fatalf("bad unauthenticated_introspection: %v", err)
	}
}

func TestParseFormLenient(t *testing.T) {
	got, err := parseFormLenient("a=%zz&b=x+y%21&&c&d=%4&e=%41%")
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"a": {"%zz"}, "b": {"x y!"}, "c": {""}, "d": {"%4"}, "e": {"A%"}}
	if got.Encode() != want.Encode() {
		t.Fatalf("parseFormLenient = %v, want %v", got, want)
	}
}

// A panic in a handler costs a 500 server_error, not the connection; the
// panic_on_bad_input defect's crash goes through to net/http.
func TestRecoverPanic(t *testing.T) {
	f := newFixture(t, nil)
	rec := httptest.NewRecorder()
	func() {
		defer f.p.recoverPanic(rec, httptest.NewRequest(http.MethodGet, "/token", nil))
		panic("a bug")
	}()
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"server_error"`) {
		t.Fatalf("recovered panic: %d %s", rec.Code, rec.Body)
	}
	defer func() {
		if v := recover(); v == nil {
			t.Fatal("the defect's crash was recovered")
		}
	}()
	defer f.p.recoverPanic(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/token", nil))
	panic(badInputPanic{reason: "test"})
}
