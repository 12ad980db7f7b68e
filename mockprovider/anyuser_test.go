package mockprovider

import (
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestLoginAnyUser(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Login = LoginAnyUser })
	ctx := oidc.ClientContext(testContext(t), f.srv.Client())
	op, err := oidc.NewProvider(ctx, f.cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauthConfig(f, "demo", "demo-secret", "openid", "email")
	signIn := func(b *browser, form url.Values) page {
		t.Helper()
		p := b.get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if !p.has("login-form") || !p.has("claims") {
			t.Fatalf("not the any_user login page: %s", p.body)
		}
		return b.submit(p, "/login", form)
	}

	// A name nobody configured, no password, claims typed in.
	b := newBrowser(t, f)
	verifier := oauth2.GenerateVerifier()
	p := b.get(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)))
	next := b.submit(p, "/login", url.Values{"username": {"carol"},
		"claims": {`{"roles": ["admin", "auditor"], "email": "carol@example.org", "org": {"id": 7}}`}})
	consent := b.follow(next)
	loc := b.location(b.submit(consent, "/consent", url.Values{"decision": {"approve"}}))
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&oidc.Config{ClientID: "demo", Now: f.p.now}).Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Roles []string       `json:"roles"`
		Email string         `json:"email"`
		Org   map[string]any `json:"org"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "carol" || len(claims.Roles) != 2 || claims.Email != "carol@example.org" || claims.Org["id"] == nil {
		t.Errorf("ID token of the typed-in user: sub %q %+v", idt.Subject, claims)
	}
	access := verifyAccessToken(t, f, tok.AccessToken, "RS256")
	if access["sub"] != "carol" || access["roles"] == nil {
		t.Errorf("access token of the typed-in user: %v", access)
	}

	// "sub" in the claims names the subject.
	b2 := newBrowser(t, f)
	if next := signIn(b2, url.Values{"username": {"dave"}, "claims": {`{"sub": "user-99"}`}}); next.resp.StatusCode != 303 {
		t.Fatalf("dave with a sub claim: %d %s", next.resp.StatusCode, next.body)
	}

	// A configured user still needs its password; bad claims are said so.
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"username": {"alice"}, "password": {"wrong"}}, "Wrong username or password"},
		{url.Values{"username": {"erin"}, "claims": {`["admin"]`}}, "Claims must be one JSON object"},
		{url.Values{"username": {"erin"}, "claims": {`{"a":1} {"b":2}`}}, "Claims must be one JSON object"},
		{url.Values{"username": {"erin"}, "claims": {`{"sub": 5}`}}, `"sub" claim must be a non-empty string`},
		{url.Values{"username": {"  "}}, "Type a username"},
		{url.Values{"username": {strings.Repeat("x", 300)}}, "Type a username"},
	} {
		got := signIn(newBrowser(t, f), tc.form)
		if !got.has("login-error") || !strings.Contains(got.body, tc.want) && !strings.Contains(got.body, strings.ReplaceAll(tc.want, `"`, "&#34;")) {
			t.Errorf("%v: want the login page saying %q, got %d %s", tc.form, tc.want, got.resp.StatusCode, got.body)
		}
	}
	if next := signIn(newBrowser(t, f), url.Values{"username": {"alice"}, "password": {"wonderland"}}); next.resp.StatusCode != 303 {
		t.Errorf("alice with her password: %d", next.resp.StatusCode)
	}
}

func TestLoginDefaultTakesOnlyConfiguredUsers(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	p := b.get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if p.has("claims") {
		t.Fatal("the default login page has the any_user claims field")
	}
	if got := b.submit(p, "/login", url.Values{"username": {"carol"}, "claims": {`{"roles":["admin"]}`}}); !got.has("login-error") {
		t.Fatalf("an unconfigured user signed in by default: %d", got.resp.StatusCode)
	}
	if _, err := ParseConfig([]byte("login: everyone")); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("login: everyone was not refused naming the field: %v", err)
	}
}
