package mockprovider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A client_secret_jwt secret: HS256 needs 32 bytes (RFC 7518 3.2).
const testHMACSecret = "an-hs256-secret-of-at-least-32-bytes"

// testAssertionKey is a client's signing key and its public JWK.
type testAssertionKey struct {
	signer crypto.Signer
	alg    jose.SignatureAlgorithm
	kid    string
}

func newTestAssertionKey(t testing.TB, kid string) testAssertionKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testAssertionKey{signer: k, alg: jose.ES256, kid: kid}
}

func (k testAssertionKey) jwks() *JWKS {
	return &JWKS{jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.signer.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}}}}
}

// signJWT signs claims with key (a crypto.Signer or an HMAC secret).
func signJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// clientAssertionClaims are the claims of a well-formed client assertion
// (RFC 7523 3) at now.
func clientAssertionClaims(clientID, aud string, now time.Time) map[string]any {
	return map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": rand.Text()}
}

// assertionClientsFixture registers a private_key_jwt client with an inline
// key set ("pkjwt"), one with a jwks_uri ("pkjwt-uri", keys served by
// keysServer) and a client_secret_jwt client ("secretjwt").
func assertionClientsFixture(t *testing.T, key testAssertionKey, jwksURI string) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		base := Client{GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"api.read"}}
		pk := base
		pk.ID, pk.TokenEndpointAuthMethod, pk.JWKS = "pkjwt", AuthPrivateKeyJWT, key.jwks()
		uri := base
		uri.ID, uri.TokenEndpointAuthMethod, uri.JWKSURI = "pkjwt-uri", AuthPrivateKeyJWT, jwksURI
		sec := base
		sec.ID, sec.TokenEndpointAuthMethod, sec.Secret = "secretjwt", AuthClientSecretJWT, testHMACSecret
		c.Clients = append(c.Clients, pk, uri, sec)
	})
}

// keysServer serves a JWK set that the test can replace, counting reads.
type keysServer struct {
	srv   *httptest.Server
	set   atomic.Pointer[jose.JSONWebKeySet]
	reads atomic.Int64
}

func newKeysServer(t *testing.T, keys ...testAssertionKey) *keysServer {
	ks := &keysServer{}
	ks.publish(keys...)
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.reads.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(ks.set.Load())
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keysServer) publish(keys ...testAssertionKey) {
	set := &jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwks().Keys...)
	}
	ks.set.Store(set)
}

// assertionToken asks for a client_credentials token with x/oauth2, the
// client authenticating with the assertion in the body (RFC 7523 2.2).
func assertionToken(t *testing.T, f *fixture, clientID, assertion string) (*oauth2.Token, error) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: clientID, TokenURL: f.url("/token"), Scopes: []string{"api.read"},
		AuthStyle: oauth2.AuthStyleInParams, EndpointParams: url.Values{
			"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {assertion}}}
	return cc.Token(testContext(t))
}

func TestClientAssertionAccepted(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	keys := newKeysServer(t, key)
	f := assertionClientsFixture(t, key, keys.srv.URL)
	now := f.clock.Now()
	cases := []struct {
		name, client string
		alg          jose.SignatureAlgorithm
		signWith     any
		aud          string
	}{
		{"private_key_jwt, inline jwks, aud token endpoint", "pkjwt", jose.ES256, key.signer, f.url("/token")},
		{"private_key_jwt, inline jwks, aud issuer", "pkjwt", jose.ES256, key.signer, f.cfg.Issuer},
		{"private_key_jwt, jwks_uri", "pkjwt-uri", jose.ES256, key.signer, f.url("/token")},
		{"client_secret_jwt HS256", "secretjwt", jose.HS256, []byte(testHMACSecret), f.url("/token")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kid := key.kid
			if tc.alg == jose.HS256 {
				kid = ""
			}
			assertion := signJWT(t, tc.alg, tc.signWith, kid, clientAssertionClaims(tc.client, tc.aud, now))
			tok, err := assertionToken(t, f, tc.client, assertion)
			if err != nil {
				t.Fatal(err)
			}
			claims := verifyAccessToken(t, f, tok.AccessToken, jose.SignatureAlgorithm(f.cfg.SigningAlg))
			if claims["client_id"] != tc.client {
				t.Fatalf("client_id %v, want %s", claims["client_id"], tc.client)
			}
		})
	}
	t.Run("client_id may be left out: the assertion's sub names the client", func(t *testing.T) {
		form := url.Values{"grant_type": {GrantClientCredentials}, "client_assertion_type": {ClientAssertionTypeJWT},
			"client_assertion": {signJWT(t, jose.ES256, key.signer, key.kid, clientAssertionClaims("pkjwt", f.url("/token"), now))}}
		resp, body := f.postForm(t, "/token", form, "", "")
		if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("status %d %v", resp.StatusCode, body)
		}
	})
	t.Run("introspection accepts its own URL as aud", func(t *testing.T) {
		tok, err := assertionToken(t, f, "pkjwt", signJWT(t, jose.ES256, key.signer, key.kid, clientAssertionClaims("pkjwt", f.url("/token"), now)))
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"token": {tok.AccessToken}, "client_id": {"pkjwt"}, "client_assertion_type": {ClientAssertionTypeJWT},
			"client_assertion": {signJWT(t, jose.ES256, key.signer, key.kid, clientAssertionClaims("pkjwt", f.url("/introspect"), now))}}
		resp, body := f.postForm(t, "/introspect", form, "", "")
		if resp.StatusCode != http.StatusOK || body["active"] != true {
			t.Fatalf("status %d %v", resp.StatusCode, body)
		}
	})
}

// TestForgedClientAssertionRefused: every forged or misused client
// assertion is refused with 401 invalid_client (RFC 7521 4.2.1, RFC 6749
// 5.2) and no token.
func TestForgedClientAssertionRefused(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	other := newTestAssertionKey(t, "k1") // same kid, another key
	keys := newKeysServer(t, key)
	f := assertionClientsFixture(t, key, keys.srv.URL)
	now := f.clock.Now()
	tokenURL := f.url("/token")
	sign := func(mutate func(map[string]any)) string {
		c := clientAssertionClaims("pkjwt", tokenURL, now)
		if mutate != nil {
			mutate(c)
		}
		return signJWT(t, jose.ES256, key.signer, key.kid, c)
	}
	replayed := sign(nil)
	if _, err := assertionToken(t, f, "pkjwt", replayed); err != nil {
		t.Fatal(err)
	}
	unsigned := func() string {
		h := `{"alg":"none","typ":"JWT"}`
		body, _ := json.Marshal(clientAssertionClaims("pkjwt", tokenURL, now))
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(h)) + "." + enc(body) + "."
	}()
	cases := []struct {
		name, client, assertion string
		form                    url.Values // extra parameters
		basic                   bool
	}{
		{name: "signed with another key", client: "pkjwt",
			assertion: signJWT(t, jose.ES256, other.signer, other.kid, clientAssertionClaims("pkjwt", tokenURL, now))},
		{name: "signed with another key, jwks_uri", client: "pkjwt-uri",
			assertion: signJWT(t, jose.ES256, other.signer, other.kid, clientAssertionClaims("pkjwt-uri", tokenURL, now))},
		{name: "expired", client: "pkjwt", assertion: sign(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-4*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		})},
		{name: "no exp", client: "pkjwt", assertion: sign(func(c map[string]any) { delete(c, "exp") })},
		{name: "exp too far ahead", client: "pkjwt", assertion: sign(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() })},
		{name: "iat in the future", client: "pkjwt", assertion: sign(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })},
		{name: "nbf in the future", client: "pkjwt", assertion: sign(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })},
		{name: "replayed jti", client: "pkjwt", assertion: replayed},
		{name: "no jti", client: "pkjwt", assertion: sign(func(c map[string]any) { delete(c, "jti") })},
		{name: "wrong aud", client: "pkjwt", assertion: sign(func(c map[string]any) { c["aud"] = "https://other.example/token" })},
		{name: "aud another endpoint of this provider", client: "pkjwt", assertion: sign(func(c map[string]any) { c["aud"] = f.url("/userinfo") })},
		{name: "iss not the client", client: "pkjwt", assertion: sign(func(c map[string]any) { c["iss"] = "someone-else" })},
		{name: "sub not the client_id", client: "pkjwt", assertion: sign(func(c map[string]any) { c["sub"] = "demo" })},
		{name: "alg none", client: "pkjwt", assertion: unsigned},
		{name: "HS256 with the public key's client", client: "pkjwt",
			assertion: signJWT(t, jose.HS256, []byte(testHMACSecret), "", clientAssertionClaims("pkjwt", tokenURL, now))},
		{name: "client_secret_jwt with another secret", client: "secretjwt",
			assertion: signJWT(t, jose.HS256, []byte(strings.Repeat("x", 40)), "", clientAssertionClaims("secretjwt", tokenURL, now))},
		{name: "assertion for a client registered for secrets", client: "demo",
			assertion: signJWT(t, jose.ES256, key.signer, key.kid, clientAssertionClaims("demo", tokenURL, now))},
		{name: "assertion and a client secret", client: "pkjwt", assertion: sign(nil), form: url.Values{"client_secret": {"x"}}},
		{name: "assertion and Basic", client: "pkjwt", assertion: sign(nil), basic: true},
		{name: "wrong client_assertion_type", client: "pkjwt", assertion: sign(nil),
			form: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}},
		{name: "not a JWT", client: "pkjwt", assertion: "not-a-jwt"},
	}
	// Each refusal for its own reason, not another rule's.
	wantDescription := map[string]string{
		"signed with another key":               "signature does not verify",
		"signed with another key, jwks_uri":     "signature does not verify",
		"expired":                               "has expired",
		"no exp":                                "no exp",
		"exp too far ahead":                     "more than 5m0s ahead",
		"iat in the future":                     "iat is in the future",
		"nbf in the future":                     "not valid yet",
		"replayed jti":                          "replay",
		"no jti":                                "no jti",
		"wrong aud":                             "aud must name this provider",
		"aud another endpoint of this provider": "aud must name this provider",
		"iss not the client":                    "iss must be",
		"sub not the client_id":                 "sub is not the client_id",
		"alg none":                              "not a compact JWS",
		"HS256 with the public key's client":    "not a compact JWS",
		"client_secret_jwt with another secret": "signature does not verify",
		"assertion for a client registered for secrets": "not registered for client_secret_jwt or private_key_jwt",
		"assertion and a client secret":                 "more than one client authentication method",
		"assertion and Basic":                           "more than one client authentication method",
		"wrong client_assertion_type":                   "client_assertion_type must be",
		"not a JWT":                                     "not a compact JWS",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {GrantClientCredentials}, "client_id": {tc.client},
				"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {tc.assertion}}
			for k, v := range tc.form {
				form[k] = v
			}
			user := ""
			if tc.basic {
				user = tc.client
			}
			resp, body := f.postForm(t, "/token", form, user, "secret")
			wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
			if desc, _ := body["error_description"].(string); !strings.Contains(desc, wantDescription[tc.name]) {
				t.Fatalf("error_description %q, want it to say %q", desc, wantDescription[tc.name])
			}
			if body["access_token"] != nil {
				t.Fatal("a token was issued")
			}
		})
	}
	t.Run("x/oauth2 sees the refusal", func(t *testing.T) {
		_, err := assertionToken(t, f, "pkjwt", replayed)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != string(oauth.InvalidClient) {
			t.Fatalf("err = %v, want invalid_client", err)
		}
	})
	t.Run("secrets refused for an assertion client", func(t *testing.T) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{ClientID: "secretjwt", ClientSecret: testHMACSecret, TokenURL: tokenURL, AuthStyle: style}
			if _, err := cc.Token(testContext(t)); err == nil {
				t.Fatalf("style %v: the client_secret_jwt client authenticated with its bare secret", style)
			}
		}
	})
}

// TestClientAssertionReplayAfterExpiry: a jti is remembered until its
// assertion expires by the provider's clock, then forgotten (the cache
// holds no more than the live assertions).
func TestClientAssertionReplayCacheFollowsClock(t *testing.T) {
	var c replayCache
	now := testStart
	if err := c.firstUse("a", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := c.firstUse("a", now.Add(time.Minute), now.Add(59*time.Second)); err == nil {
		t.Fatal("a replay within the lifetime was accepted")
	}
	for i := range minReplaySweep {
		if err := c.firstUse(string(rune('b'+i)), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(2 * time.Minute)
	if err := c.firstUse("fresh", later.Add(time.Minute), later); err != nil {
		t.Fatal(err)
	}
	if len(c.seen) != 1 {
		t.Fatalf("%d entries after every other expired, want 1", len(c.seen))
	}
}

func TestClientAssertionKeyRotationAtJWKSURI(t *testing.T) {
	old, rotated := newTestAssertionKey(t, "old"), newTestAssertionKey(t, "new")
	keys := newKeysServer(t, old)
	f := assertionClientsFixture(t, old, keys.srv.URL)
	now := f.clock.Now()
	if _, err := assertionToken(t, f, "pkjwt-uri", signJWT(t, jose.ES256, old.signer, old.kid, clientAssertionClaims("pkjwt-uri", f.url("/token"), now))); err != nil {
		t.Fatal(err)
	}
	keys.publish(rotated)
	// The cached set lacks kid "new": the provider reads jwks_uri again,
	// at most once a second (jwksRefetchGap), so retry within a bound.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := assertionToken(t, f, "pkjwt-uri", signJWT(t, jose.ES256, rotated.signer, rotated.kid, clientAssertionClaims("pkjwt-uri", f.url("/token"), now)))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated key is still refused: %v (jwks_uri read %d times)", err, keys.reads.Load())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := keys.reads.Load(); n < 2 || n > 12 {
		t.Fatalf("jwks_uri read %d times, want a refetch and at most one a second", n)
	}
}

func TestClientAuthMethodConfig(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	priv := &JWKS{jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.signer, KeyID: "k1"}}}}
	cases := []struct {
		name, field string
		client      Client
	}{
		{"private_key_jwt without keys", "clients[3].jwks", Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT}},
		{"both jwks and jwks_uri", "clients[3].jwks_uri", Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKS: key.jwks(), JWKSURI: "http://127.0.0.1/jwks"}},
		{"a private key in jwks", "clients[3].jwks.keys[0]", Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKS: priv}},
		{"jwks_uri not a URL", "clients[3].jwks_uri", Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKSURI: "file:///etc/keys"}},
		{"private_key_jwt with a secret", "clients[3].secret", Client{TokenEndpointAuthMethod: AuthPrivateKeyJWT, JWKS: key.jwks(), Secret: "s"}},
		{"client_secret_jwt with a short secret", "clients[3].secret", Client{TokenEndpointAuthMethod: AuthClientSecretJWT, Secret: "short"}},
		{"keys without private_key_jwt", "clients[3].jwks", Client{Secret: "s", JWKS: key.jwks()}},
		{"public with an assertion method", "clients[3].token_endpoint_auth_method", Client{Public: true, TokenEndpointAuthMethod: AuthPrivateKeyJWT}},
		{"unknown method", "clients[3].token_endpoint_auth_method", Client{Secret: "s", TokenEndpointAuthMethod: "tls_client_auth"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := DefaultConfig()
			if err != nil {
				t.Fatal(err)
			}
			c := tc.client
			c.ID, c.GrantTypes = "x", []string{GrantClientCredentials}
			if c.Public {
				c.GrantTypes = []string{GrantDeviceCode}
			}
			cfg.Clients = append(cfg.Clients, c)
			// The default's clients come first: the new one is the last.
			field := strings.Replace(tc.field, "clients[3]", fmt.Sprintf("clients[%d]", len(cfg.Clients)-1), 1)
			var fe *FieldError
			if err := cfg.Validate(); !errors.As(err, &fe) || fe.Field != field {
				t.Fatalf("err = %v, want a FieldError on %s", err, field)
			}
		})
	}
	t.Run("YAML, jwks inline", func(t *testing.T) {
		pub, err := json.Marshal(key.jwks())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ParseConfig([]byte(`clients:
  - id: pk
    token_endpoint_auth_method: private_key_jwt
    grant_types: [client_credentials]
    jwks: ` + string(pub) + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Clients[0].JWKS; got == nil || len(got.Keys) != 1 || got.Keys[0].KeyID != "k1" {
			t.Fatalf("jwks = %+v", got)
		}
	})
}

func TestDiscoveryAdvertisesAssertions(t *testing.T) {
	f := newFixture(t, nil)
	resp, doc := doJSON(t, f.srv.Client(), mustRequest(t, http.MethodGet, f.url("/.well-known/openid-configuration")))
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
	methods := toStrings(doc["token_endpoint_auth_methods_supported"])
	algs := toStrings(doc["token_endpoint_auth_signing_alg_values_supported"])
	if !slices.Contains(methods, AuthPrivateKeyJWT) || !slices.Contains(methods, AuthClientSecretJWT) {
		t.Fatalf("methods %v", methods)
	}
	if !slices.Contains(algs, "ES256") || !slices.Contains(algs, "HS256") || slices.Contains(algs, "none") {
		t.Fatalf("algs %v", algs)
	}
}

func mustRequest(t testing.TB, method, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
