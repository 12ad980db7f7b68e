package flows_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
)

func ExampleParseTarget() {
	os.Setenv("EXAMPLE_SECRET", "s3cret")
	defer os.Unsetenv("EXAMPLE_SECRET")
	t, err := flows.ParseTarget([]byte(`
issuer: https://idp.example.com
clients:
  confidential: {client_id: app, client_secret: "${EXAMPLE_SECRET}"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := t.Client(flows.RoleConfidential)
	fmt.Println(c.ClientID, c.AuthMethod, len(c.ClientSecret))

	_, err = flows.ParseTarget([]byte("issuer: https://idp.example.com\nclients: {public: {client_id: spa, auth_method: magic}}"))
	var pe *flows.ProfileError
	if errors.As(err, &pe) {
		fmt.Println("bad field:", pe.Field)
	}
	// Output:
	// app client_secret_basic 6
	// bad field: clients.public.auth_method
}

func ExampleClientCredentials() {
	cfg, _ := mockprovider.DefaultConfig()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	target := flows.MockTarget(srv.Issuer(), "")

	res, err := flows.ClientCredentials(ctx, target, flows.ClientCredentialsOptions{Record: flows.RecordTrace})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Token.TokenType, res.Scope(), res.Trace[0].Name, res.Trace[0].Status)

	target.Clients.Confidential.ClientSecret = "wrong"
	_, err = flows.ClientCredentials(ctx, target, flows.ClientCredentialsOptions{})
	var oauthErr *flows.OAuthError
	if errors.As(err, &oauthErr) {
		fmt.Println(oauthErr.Step, oauthErr.Status, oauthErr.Code)
	}
	// Output:
	// Bearer api.read token 200
	// token 401 invalid_client
}
