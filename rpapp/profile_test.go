package rpapp

import (
	"errors"
	"strings"
	"testing"
)

const goodProfile = `
name: demo
app:
  command: ["{{grantbench}}", example-app]
  env:
    ISSUER: "{{issuer}}"
    PORT: "{{port}}"
    REDIRECT_URI: "{{redirect_uri}}"
    CLIENT_SECRET: "${RPAPP_TEST_SECRET:-s3cret}"
  ready: /healthz
client:
  client_id: demo-app
  client_secret: "${RPAPP_TEST_SECRET:-s3cret}"
  redirect_uri: "{{base_url}}/callback"
login: /login
logged_in: {path: /me, text: "logged in as alice"}
`

func TestParseGoodProfileAndRender(t *testing.T) {
	p, err := Parse([]byte(goodProfile), "/apps/demo")
	if err != nil {
		t.Fatal(err)
	}
	if p.Client.AuthMethod != AuthClientSecretBasic || p.Client.ClientSecret != "s3cret" {
		t.Fatalf("client: %+v", p.Client)
	}
	r, err := p.Render(Values{"grantbench": "/bin/gb", "issuer": "http://127.0.0.1:9", "port": "8001", "base_url": "http://127.0.0.1:8001"})
	if err != nil {
		t.Fatal(err)
	}
	if r.RedirectURI != "http://127.0.0.1:8001/callback" || r.Command[0] != "/bin/gb" || r.Dir != "/apps/demo" {
		t.Fatalf("rendered: %+v", r)
	}
	env := strings.Join(r.Env, " ")
	for _, want := range []string{"ISSUER=http://127.0.0.1:9", "PORT=8001", "REDIRECT_URI=http://127.0.0.1:8001/callback", "CLIENT_SECRET=s3cret"} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
}

func TestRelativeCommandIsTakenFromTheProfileFolder(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(goodProfile, `["{{grantbench}}", example-app]`, `[./run.sh]`, 1)), "/apps/demo")
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Render(Values{"base_url": "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Command[0] != "/apps/demo/run.sh" {
		t.Fatalf("command %q", r.Command[0])
	}
}

func TestProfileErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, field, text string
	}{
		{"unknown field", "login: /login", "login: /login\nlogged_out: /bye", "logged_out", "unknown field"},
		{"unknown nested field", "  ready: /healthz", "  ready: /healthz\n  readyness: /x", "app.readyness", "unknown field"},
		{"unknown template", `PORT: "{{port}}"`, `PORT: "{{prot}}"`, "app.env.PORT", "unknown template {{prot}}"},
		{"bad provider addr", "login: /login", "login: /login\nprovider: {addr: 10.0.0.1:80}", "provider.addr", "loopback"},
		{"provider addr without port", "login: /login", "login: /login\nprovider: {addr: 127.0.0.1}", "provider.addr", "host:port"},
		{"bad port", "login: /login", "login: /login\nprovider: {addr: \"127.0.0.1:99999\"}", "provider.addr", "port"},
		{"unknown auth method", "  client_id: demo-app", "  client_id: demo-app\n  auth_method: private_key_jwt", "client.auth_method", "not one of"},
		{"no logged_in signal", `logged_in: {path: /me, text: "logged in as alice"}`, `logged_in: {path: /me}`, "logged_in", "text or selector"},
		{"login not a path", "login: /login", "login: login", "login", "path starting with /"},
		{"both command and base_url", "  ready: /healthz", "  ready: /healthz\n  base_url: http://127.0.0.1:8000", "app.base_url", "not both"},
		{"unset env var", "${RPAPP_TEST_SECRET:-s3cret}\"\n  redirect", "${RPAPP_UNSET_VAR}\"\n  redirect", "client.client_secret", "RPAPP_UNSET_VAR is not set"},
		{"wrong type", "login: /login", "login: [a, b]", "login", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(goodProfile, tc.old, tc.new, 1)
			if doc == goodProfile {
				t.Fatalf("test case does not change the profile")
			}
			_, err := Parse([]byte(doc), "")
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *ProfileError, got %v", err)
			}
			if pe.Field != tc.field || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got field %q, error %q; want field %q and %q", pe.Field, err, tc.field, tc.text)
			}
		})
	}
}

func TestRenderRefusesABadRedirectURI(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(goodProfile, `"{{base_url}}/callback"`, `"/callback"`, 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	var pe *ProfileError
	if _, err := p.Render(Values{}); !errors.As(err, &pe) || pe.Field != "client.redirect_uri" {
		t.Fatalf("got %v", err)
	}
}
