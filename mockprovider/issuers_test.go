package mockprovider

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const twoIssuersYAML = `
issuers:
  - id: tenant-a
    signing_alg: ES256
    clients:
      - id: shop
        secret: shop-secret
        grant_types: [authorization_code, client_credentials]
        redirect_uris: [` + testRedirect + `]
        scopes: [openid, profile, api.read]
    users:
      - username: bob
        password: builder
        subject: bob-42
        claims: {name: Bob, roles: [admin, dev]}
  - id: tenant-b
`

func twoIssuersFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	parsed, err := ParseConfig([]byte(twoIssuersYAML))
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, func(c *Config) { c.Issuers = parsed.Issuers }, opts...)
}

// formAction is where the page's form posts: the test follows it rather
// than assuming a path, so a page of the wrong issuer shows.
var formAction = regexp.MustCompile(`<form [^>]*action="([^"]*)"`)

func postPageForm(t *testing.T, b *browser, p page, extra url.Values) page {
	t.Helper()
	m := formAction.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the page: %s", p.body)
	}
	return b.submit(p, m[1], extra)
}

func TestIssuersDiscoveryAndClientCredentials(t *testing.T) {
	f := twoIssuersFixture(t)
	ctx := oidc.ClientContext(testContext(t), f.srv.Client())
	issuerA := f.url("/tenant-a")
	op, err := oidc.NewProvider(ctx, issuerA) // go-oidc checks the document's issuer
	if err != nil {
		t.Fatal(err)
	}
	if op.Endpoint().TokenURL != issuerA+"/token" {
		t.Fatalf("tenant-a token endpoint %q", op.Endpoint().TokenURL)
	}
	if _, err := oidc.NewProvider(ctx, f.url("/tenant-b")); err != nil {
		t.Fatalf("tenant-b (all defaults): %v", err)
	}
	if _, err := oidc.NewProvider(ctx, f.url("")); err != nil {
		t.Fatalf("the default issuer: %v", err)
	}

	cc := clientcredentials.Config{ClientID: "shop", ClientSecret: "shop-secret", TokenURL: op.Endpoint().TokenURL,
		Scopes: []string{"api.read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := parsed.Claims(fetchJWKSAt(t, f, "/tenant-a/jwks"), &claims); err != nil {
		t.Fatalf("tenant-a's token does not verify with tenant-a's keys: %v", err)
	}
	if claims.Issuer != issuerA {
		t.Errorf("iss %q, want %q", claims.Issuer, issuerA)
	}
	for _, other := range []string{"/jwks", "/tenant-b/jwks"} {
		if err := parsed.Claims(fetchJWKSAt(t, f, other), &claims); err == nil {
			t.Errorf("tenant-a's token verifies with the keys of %s: issuers share keys", other)
		}
	}

	// Clients are per issuer: the default's demo client is unknown at tenant-a,
	// tenant-a's shop unknown at the default.
	for _, tc := range []struct{ tokenURL, id, secret string }{
		{issuerA + "/token", "demo", "demo-secret"},
		{f.url("/token"), "shop", "shop-secret"},
	} {
		_, err := (&clientcredentials.Config{ClientID: tc.id, ClientSecret: tc.secret, TokenURL: tc.tokenURL}).Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Errorf("%s at %s: want invalid_client, got %v", tc.id, tc.tokenURL, err)
		}
	}

	// RFC 8414 3.1's form of the metadata address of an issuer with a path.
	var md struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	mdResp, err := f.srv.Client().Get(f.url("/.well-known/oauth-authorization-server/tenant-a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeJSON(mdResp, &md); err != nil || md.Issuer != issuerA || md.TokenEndpoint != issuerA+"/token" {
		t.Errorf("RFC 8414 metadata of tenant-a: %+v %v", md, err)
	}

	resp, err := f.srv.Client().Get(f.url("/tenant-c/token"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unconfigured issuer answered %d, want 404", resp.StatusCode)
	}
}

func fetchJWKSAt(t *testing.T, f *fixture, path string) *jose.JSONWebKeySet {
	t.Helper()
	resp, err := f.srv.Client().Get(f.url(path))
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

func TestIssuersAuthorizationCodeThroughPages(t *testing.T) {
	f := twoIssuersFixture(t)
	ctx := oidc.ClientContext(testContext(t), f.srv.Client())
	issuerA := f.url("/tenant-a")
	op, err := oidc.NewProvider(ctx, issuerA)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: "shop", ClientSecret: "shop-secret", Endpoint: op.Endpoint(),
		RedirectURL: testRedirect, Scopes: []string{oidc.ScopeOpenID, "profile"}}
	b := newBrowser(t, f)
	verifier := oauth2.GenerateVerifier()
	p := b.get(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n1")))
	if !p.has("login-form") || !strings.Contains(p.body, `action="/tenant-a/login"`) {
		t.Fatalf("tenant-a's login page does not post to tenant-a: %s", p.body)
	}
	// The default issuer's user does not exist at tenant-a.
	if again := postPageForm(t, b, p, url.Values{"username": {"alice"}, "password": {"wonderland"}}); !again.has("login-error") {
		t.Fatalf("alice signed in at tenant-a: %d %s", again.resp.StatusCode, again.body)
	}
	next := postPageForm(t, b, p, url.Values{"username": {"bob"}, "password": {"builder"}})
	if loc := next.resp.Header.Get("Location"); !strings.HasPrefix(loc, "/tenant-a/consent?") {
		t.Fatalf("login redirected to %q, want tenant-a's consent page", loc)
	}
	var session *http.Cookie
	for _, c := range next.resp.Cookies() {
		if strings.HasPrefix(c.Name, sessionCookie) {
			session = c
		}
	}
	if session == nil || session.Name == sessionCookie || session.Path != "/tenant-a/" {
		t.Fatalf("tenant-a's session cookie %+v: want its own name and path", session)
	}
	consent := b.follow(next)
	if !strings.Contains(consent.body, `action="/tenant-a/consent"`) {
		t.Fatalf("tenant-a's consent page does not post to tenant-a: %s", consent.body)
	}
	loc := b.location(postPageForm(t, b, consent, url.Values{"decision": {"approve"}}))
	if loc.Query().Get("iss") != issuerA || loc.Query().Get("state") != "s1" {
		t.Fatalf("authorization response %s", loc)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&oidc.Config{ClientID: "shop", Now: f.p.now}).Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "bob-42" || claims.Name != "Bob" || len(claims.Roles) != 2 {
		t.Errorf("tenant-a's ID token: sub %q claims %+v", idt.Subject, claims)
	}
	// Sessions are per issuer: the same browser is a stranger at the default.
	demo := oauthConfig(f, "demo", "demo-secret", "openid")
	demo.RedirectURL = "http://127.0.0.1/callback"
	if p := b.get(demo.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier))); !p.has("login-form") ||
		!strings.Contains(p.body, `action="/login"`) {
		t.Fatalf("the default issuer did not ask the tenant-a user to sign in: %s", p.body)
	}
}

func TestIssuersHaveTheirOwnAdminAPI(t *testing.T) {
	f := twoIssuersFixture(t, WithAdminToken(testAdminToken))
	for _, path := range []string{"/admin/counters", "/tenant-a/admin/counters", "/tenant-b/admin/counters"} {
		req, _ := http.NewRequest(http.MethodGet, f.url(path), nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s answered %d", path, resp.StatusCode)
		}
	}
	if f.p.IssuerByID("tenant-a") == nil || f.p.IssuerByID("tenant-a").Issuer() != f.url("/tenant-a") {
		t.Errorf("IssuerByID(tenant-a) = %v", f.p.IssuerByID("tenant-a"))
	}
	if got := strings.Join(f.p.IssuerIDs(), ","); got != "tenant-a,tenant-b" {
		t.Errorf("IssuerIDs = %s", got)
	}
}

func TestIssuersConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, field string }{
		{"issuers: [{id: a}, {id: a}]", "issuers[1].id"},
		{"issuers: [{id: '.well-known'}]", "issuers[0].id"},
		{"issuers: [{id: 'a/b'}]", "issuers[0].id"},
		{"issuers: [{id: a, issuer: 'http://x'}]", "issuers[0].issuer"},
		{"issuers: [{id: a, signing_alg: HS256}]", "issuers[0].signing_alg"},
		{"issuers: [{id: a, issuers: [{id: b}]}]", "issuers[0].issuers"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: want an error on %s, got %v", tc.yaml, tc.field, err)
		}
	}
	if _, err := ParseConfig([]byte("issuers: [{id: a, no_such_field: 1}]")); err == nil || !strings.Contains(err.Error(), "no_such_field") {
		t.Errorf("an unknown field in an issuer was not refused: %v", err)
	}
	// An id that is an endpoint of the default issuer would hide it.
	parsed, err := ParseConfig([]byte("issuers: [{id: token}]"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := DefaultConfig()
	cfg.Issuer, cfg.Issuers = "http://127.0.0.1:1", parsed.Issuers
	var fe *FieldError
	if _, err := New(cfg); !errors.As(err, &fe) || fe.Field != "issuers[0].id" {
		t.Errorf("issuer id token: want an error on issuers[0].id, got %v", err)
	}
}

// An issuer configured with a path (https://host/realms/x, as Keycloak
// names them) serves everything under that path.
func TestIssuerWithAPath(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String() + "/realms/test"
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()
	ctx := oidc.ClientContext(testContext(t), srv.Client())
	op, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: op.Endpoint().TokenURL}
	if _, err := cc.Token(ctx); err != nil {
		t.Fatalf("token at %s: %v", cc.TokenURL, err)
	}
	for _, path := range []string{"/token", "/realms/testx/token", "/realms"} {
		resp, err := srv.Client().Post(srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s outside the issuer's path answered %d, want 404", path, resp.StatusCode)
		}
	}
}
