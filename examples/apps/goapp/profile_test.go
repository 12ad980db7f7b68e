package goapp

import (
	"testing"

	"github.com/grantbench/grantbench/rpapp"
)

// TestProfileLoads: app.yaml is a valid profile for `grantbench rp` that
// starts the bundled app and passes it what ConfigFromEnv reads.
func TestProfileLoads(t *testing.T) {
	p, err := rpapp.Load("app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.App.Command) != 2 || p.App.Command[0] != "{{grantbench}}" || p.App.Command[1] != "example-app" {
		t.Fatalf("command %q", p.App.Command)
	}
	for _, k := range []string{"ISSUER", "CLIENT_ID", "CLIENT_SECRET", "AUTH_METHOD", "REDIRECT_URI", "PORT"} {
		if p.App.Env[k] == "" {
			t.Errorf("env %s not set", k)
		}
	}
	if p.App.Env["AUTH_METHOD"] != p.Client.AuthMethod {
		t.Errorf("AUTH_METHOD %q, client auth_method %q", p.App.Env["AUTH_METHOD"], p.Client.AuthMethod)
	}
	if p.Login != "/login" || p.LoggedIn.Path != "/me" || p.LoggedIn.Text != "logged in as alice" {
		t.Fatalf("login %q, logged_in %+v", p.Login, p.LoggedIn)
	}
}
