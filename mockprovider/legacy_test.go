package mockprovider

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/grantbench/grantbench/oauth"
)

func TestPasswordGrant(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	conf := oauthConfig(f, "demo-legacy", "legacy-secret", "openid", "api.read")
	tok, err := conf.PasswordCredentialsToken(ctx, "alice", "wonderland")
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatal("want a refresh token and an ID token")
	}
	// L1: wrong password, and a client not allowed the grant.
	_, err = conf.PasswordCredentialsToken(ctx, "alice", "looking-glass")
	if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
		t.Fatalf("wrong password: %s", got)
	}
	_, err = conf.PasswordCredentialsToken(ctx, "nobody", "wonderland")
	if got := retrieveErrorCode(t, err); got != oauth.InvalidGrant {
		t.Fatalf("unknown user: %s", got)
	}
	demo := oauthConfig(f, "demo", "demo-secret")
	_, err = demo.PasswordCredentialsToken(ctx, "alice", "wonderland")
	if got := retrieveErrorCode(t, err); got != oauth.UnauthorizedClient {
		t.Fatalf("L1: %s", got)
	}
}

func TestImplicitGrant(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	authURL := func(client string) string {
		return f.url("/authorize?" + url.Values{"client_id": {client}, "redirect_uri": {testRedirect},
			"response_type": {"token"}, "scope": {"api.read"}, "state": {"s t"}}.Encode())
	}
	loc := b.authorize(authURL("demo-legacy"), "approve")
	if loc.RawQuery != "" {
		t.Fatalf("L2: implicit response in the query: %s", loc)
	}
	frag, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	if frag.Get("access_token") == "" || frag.Get("token_type") != "Bearer" || frag.Get("state") != "s t" || frag.Get("iss") != f.cfg.Issuer {
		t.Fatalf("L2: fragment %v", frag)
	}
	if frag.Has("refresh_token") {
		t.Fatal("L3: refresh token in an implicit response")
	}
	if introspect(t, f, frag.Get("access_token"))["active"] != true {
		t.Fatal("implicit access token not active")
	}
	// L2: a client not allowed implicit is refused (in the query: it is no implicit client).
	p := b.get(authURL("demo"))
	if p.resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d", p.resp.StatusCode)
	}
	refused := b.location(p)
	if refused.Query().Get("error") != oauth.UnauthorizedClient.String() || refused.Fragment != "" {
		t.Fatalf("L2: %s", refused)
	}
}
