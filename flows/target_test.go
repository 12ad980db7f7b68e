package flows

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimalProfile = `
issuer: https://idp.example.com
clients:
  confidential:
    client_id: app
    client_secret: s3cret
`

func TestParseTargetDefaults(t *testing.T) {
	tg, err := ParseTarget([]byte(minimalProfile))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "idp.example.com" {
		t.Errorf("Name = %q, want the issuer host", tg.Name)
	}
	c, err := tg.Client(RoleConfidential)
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMethod != AuthClientSecretBasic {
		t.Errorf("AuthMethod = %q, want client_secret_basic for a client with a secret", c.AuthMethod)
	}
	if tg.Browser != DefaultSelectors() {
		t.Errorf("Browser = %+v, want the defaults", tg.Browser)
	}
	var missing *MissingClientError
	if _, err := tg.Client(RolePublic); !errors.As(err, &missing) || missing.Role != RolePublic {
		t.Errorf("Client(public) error = %v, want *MissingClientError", err)
	}
	if tg.HasClient(RoleDevice) {
		t.Error("HasClient(device) = true for a profile without one")
	}
}

func TestParseTargetErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, yaml, field string
	}{
		{"no issuer", "clients: {confidential: {client_id: a, client_secret: b}}", "issuer"},
		{"relative issuer", "issuer: /x\nclients: {confidential: {client_id: a, client_secret: b}}", "issuer"},
		{"issuer with query", "issuer: https://a/?x=1\nclients: {confidential: {client_id: a, client_secret: b}}", "issuer"},
		{"no clients", "issuer: https://a", "clients"},
		{"no client id", "issuer: https://a\nclients: {public: {auth_method: none}}", "clients.public.client_id"},
		{"bad auth method", "issuer: https://a\nclients: {public: {client_id: p, auth_method: tls_client_auth}}", "clients.public.auth_method"},
		{"secret with none", "issuer: https://a\nclients: {public: {client_id: p, client_secret: x, auth_method: none}}", "clients.public.client_secret"},
		{"post without secret", "issuer: https://a\nclients: {legacy: {client_id: p, auth_method: client_secret_post}}", "clients.legacy.client_secret"},
		{"relative redirect", "issuer: https://a\nclients: {public: {client_id: p, redirect_uri: /cb}}", "clients.public.redirect_uri"},
		{"fragment redirect", "issuer: https://a\nclients: {public: {client_id: p, redirect_uri: 'http://127.0.0.1/cb#x'}}", "clients.public.redirect_uri"},
		{"bad scope", "issuer: https://a\nclients: {public: {client_id: p, scopes: [openid, 'a b']}}", "clients.public.scopes[1]"},
		{"admin without token", "issuer: https://a\nclients: {public: {client_id: p}}\nadmin: {url: 'https://a'}", "admin.token"},
		{"admin bad url", "issuer: https://a\nclients: {public: {client_id: p}}\nadmin: {url: 'ftp:x', token: t}", "admin.url"},
		{"clock without admin", "issuer: https://a\nclients: {public: {client_id: p}}\nfeatures: {admin_clock: true}", "features.admin_clock"},
		{"negative lifetime", "issuer: https://a\nclients: {public: {client_id: p}}\nlifetimes: {code: -1s}", "lifetimes.code"},
		{"bad duration", "issuer: https://a\nclients: {public: {client_id: p}}\nlifetimes:\n  code: soon\n", "lifetimes.code"},
		{"scopes not a list", "issuer: https://a\nclients:\n  public:\n    client_id: p\n    scopes: openid\n", "clients.public.scopes"},
		{"feature not a bool", "issuer: https://a\nclients: {public: {client_id: p}}\nfeatures:\n  device: maybe\n", "features.device"},
		{"unknown field", "issuer: https://a\n\n\nclients:\n\n  public:\n    client_id: p\n\n    colour: blue\n", "clients.public.colour"},
		{"unset env", "issuer: https://a\nclients: {public: {client_id: '${GRANTBENCH_TEST_SURELY_UNSET}'}}", "clients.public.client_id"},
		{"negative clock skew", "issuer: https://a\nclients: {public: {client_id: p}}\nlifetimes: {clock_skew: -5s}", "lifetimes.clock_skew"},
		{"endpoint not a URL", "issuer: https://a\nclients: {public: {client_id: p}}\nendpoints: {introspection: /introspect}", "endpoints.introspection.url"},
		{"endpoint bad auth", "issuer: https://a\nclients: {public: {client_id: p}}\nendpoints: {revocation: {url: 'https://a/r', auth: mtls}}", "endpoints.revocation.auth"},
		{"bearer without token", "issuer: https://a\nclients: {public: {client_id: p}}\nendpoints: {introspection: {url: 'https://a/i', auth: bearer}}", "endpoints.introspection.token"},
		{"endpoint unknown field", "issuer: https://a\nclients: {public: {client_id: p}}\nendpoints:\n  introspection:\n    url: https://a/i\n    colour: blue\n", "endpoints.introspection.colour"},
		{"flow parameter in authorize_params", "issuer: https://a\nclients: {public: {client_id: p}}\nauthorize_params: {state: x}", "authorize_params.state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTarget([]byte(tc.yaml))
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *ProfileError", err)
			}
			if pe.Field != tc.field {
				t.Errorf("Field = %q, want %q (error: %v)", pe.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestParseTargetRejectsUnknownFieldsAndBadYAML(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  minimalProfile + "colour: blue\n",
		"typo in client": "issuer: https://a\nclients: {confidential: {clientid: a}}",
		"bad duration":   minimalProfile + "lifetimes: {code: soon}\n",
		"not yaml":       "issuer: [unclosed",
		"empty":          "",
	} {
		if _, err := ParseTarget([]byte(doc)); err == nil {
			t.Errorf("%s: ParseTarget succeeded, want an error", name)
		}
	}
}

func TestParseTargetExpandsEnvironment(t *testing.T) {
	t.Setenv("GB_TEST_ISSUER", "http://127.0.0.1:9999")
	t.Setenv("GB_TEST_SECRET", "p@ss: {not yaml} $x")
	t.Setenv("GB_TEST_PORT", "8080")
	doc := `
issuer: ${GB_TEST_ISSUER}
clients:
  confidential:
    client_id: app-${GB_TEST_PORT}
    client_secret: ${GB_TEST_SECRET}
    redirect_uri: http://127.0.0.1:${GB_TEST_PORT}/cb
    scopes: ["${GB_TEST_UNSET_SCOPE:-api.read}", "cost$$"]
`
	tg, err := ParseTarget([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := tg.Clients.Confidential
	if tg.Issuer != "http://127.0.0.1:9999" || c.ClientSecret != "p@ss: {not yaml} $x" || c.ClientID != "app-8080" ||
		c.RedirectURI != "http://127.0.0.1:8080/cb" {
		t.Errorf("expansion wrong: issuer %q, client %+v", tg.Issuer, c)
	}
	if want := []string{"api.read", "cost$"}; !reflect.DeepEqual(c.Scopes, want) {
		t.Errorf("Scopes = %q, want %q (default and $$ escape)", c.Scopes, want)
	}
}

func TestMockProfileMatchesMockTarget(t *testing.T) {
	t.Setenv("GRANTBENCH_ISSUER", "http://127.0.0.1:4321")
	t.Setenv("GRANTBENCH_ADMIN_TOKEN", "tok")
	loaded, err := LoadTarget(filepath.Join("..", "examples", "targets", "mock.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.AdminToken() != "tok" {
		t.Errorf("AdminToken() = %q, want it from GRANTBENCH_ADMIN_TOKEN", loaded.AdminToken())
	}
	loaded.Admin = &Admin{Token: loaded.AdminToken()}
	built := MockTarget("http://127.0.0.1:4321/", "tok")
	// MockTarget holds the demo key itself; the file names where it is.
	if loaded.Clients.FAPI == nil || loaded.Clients.FAPI.KeyFile == "" {
		t.Fatal("mock.yaml has no fapi client with a key_file")
	}
	loaded.Clients.FAPI.KeyFile = ""
	if !reflect.DeepEqual(loaded.Clients, built.Clients) {
		t.Errorf("clients differ:\nyaml  %+v\nbuilt %+v", loaded.Clients, built.Clients)
	}
	for _, pair := range [][2]any{
		{loaded.Issuer, built.Issuer}, {loaded.Name, built.Name}, {loaded.User, built.User},
		{loaded.Browser, built.Browser}, {loaded.Features, built.Features}, {*loaded.Admin, *built.Admin},
		{loaded.Lifetimes, built.Lifetimes},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("yaml %+v != MockTarget %+v", pair[0], pair[1])
		}
	}
}

func TestLoadTargetMissingFile(t *testing.T) {
	_, err := LoadTarget(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want os.ErrNotExist", err)
	}
}

func TestDurationsParse(t *testing.T) {
	tg, err := ParseTarget([]byte(minimalProfile + "lifetimes: {access_token: 90s, code: 1m}\ntimeouts: {page: 5s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Lifetimes.AccessToken != 90*time.Second || tg.Lifetimes.Code != time.Minute || tg.pageTimeout() != 5*time.Second {
		t.Errorf("lifetimes %+v, page timeout %v", tg.Lifetimes, tg.pageTimeout())
	}
}

func TestExampleProfilesParse(t *testing.T) {
	for _, v := range []string{"GRANTBENCH_ISSUER", "GRANTBENCH_ADMIN_TOKEN", "ZITADEL_ISSUER", "OIDC_PROVIDER_ISSUER", "MY_ISSUER"} {
		t.Setenv(v, "http://127.0.0.1:9")
	}
	for _, v := range []string{"MY_CLIENT_ID", "MY_CLIENT_SECRET", "MY_OTHER_CLIENT_ID", "MY_OTHER_CLIENT_SECRET", "MY_SERVICE_CLIENT_ID", "MY_SERVICE_CLIENT_SECRET", "MY_TEST_USER", "MY_TEST_PASSWORD"} {
		t.Setenv(v, "x")
	}
	t.Setenv("ZITADEL_WEB_REDIRECT_URI", "http://127.0.0.1:10/callback")
	t.Setenv("OIDC_PROVIDER_WEB_REDIRECT_URI", "http://127.0.0.1:10/callback")
	files, err := filepath.Glob(filepath.Join("..", "examples", "targets", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example profiles: %v", err)
	}
	for _, f := range files {
		if _, err := LoadTarget(f); err != nil {
			t.Error(err) // names the file
		}
	}
}

// The profile fields for providers that differ from the bundled mock:
// endpoints the metadata leaves out, extra authorization parameters, a clock
// tolerance, and ${VAR} filling a boolean or a number.
func TestParseTargetProviderDifferences(t *testing.T) {
	t.Setenv("GB_TEST_ADMIN_TOKEN", "admin-t0ken")
	t.Setenv("GB_TEST_HTTP_CONSENT", "true")
	t.Setenv("GB_TEST_TIMEOUT", "45s")
	doc := minimalProfile + `
endpoints:
  introspection: {url: "http://127.0.0.1:4445/admin/oauth2/introspect", auth: bearer, token: "${GB_TEST_ADMIN_TOKEN}"}
  revocation: https://idp.example.com/oauth2/revoke
authorize_params: {audience: https://api.example.com, prompt: login}
lifetimes: {access_token: 5m, clock_skew: 30s}
features:
  http_consent: ${GB_TEST_HTTP_CONSENT}
  resource_server_tokens: true
timeouts: {page: "${GB_TEST_TIMEOUT}"}
browser:
  error: .alert-error
  device: {denied: "#denied"}
`
	tg, err := ParseTarget([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if auth, token := tg.EndpointAuthOf("introspection"); auth != EndpointAuthBearer || token != "admin-t0ken" {
		t.Errorf("introspection auth = %q %q, want bearer with the token", auth, token)
	}
	if auth, _ := tg.EndpointAuthOf("revocation"); auth != EndpointAuthClient {
		t.Errorf("revocation auth = %q, want client (the default)", auth)
	}
	md := &Metadata{IntrospectionEndpoint: "https://idp.example.com/introspect", UserinfoEndpoint: "https://idp.example.com/userinfo"}
	tg.ApplyEndpoints(md)
	if md.IntrospectionEndpoint != "http://127.0.0.1:4445/admin/oauth2/introspect" || md.RevocationEndpoint != "https://idp.example.com/oauth2/revoke" ||
		md.UserinfoEndpoint != "https://idp.example.com/userinfo" {
		t.Errorf("metadata after ApplyEndpoints: %+v", md)
	}
	if tg.AuthorizeParams["audience"] != "https://api.example.com" || tg.AuthorizeParams["prompt"] != "login" {
		t.Errorf("authorize_params = %v", tg.AuthorizeParams)
	}
	if tg.Lifetimes.ClockSkew != 30*time.Second || !tg.Features.HTTPConsent || !tg.Features.ResourceServerTokens || tg.Timeouts.Page != 45*time.Second {
		t.Errorf("lifetimes %+v, features %+v, timeouts %+v", tg.Lifetimes, tg.Features, tg.Timeouts)
	}
	if tg.Browser.Error != ".alert-error" || tg.Browser.ErrorDescription != "#error-description" || tg.Browser.Device.Denied != "#denied" {
		t.Errorf("browser selectors %+v", tg.Browser)
	}
}
