package goapp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	vIssuer = "https://op.example"
	vClient = "client-1"
	vSecret = "client-1-secret-with-enough-bytes-for-hs256"
	vNonce  = "nonce-1"
)

var (
	keysOnce   sync.Once
	key1, key2 *rsa.PrivateKey
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if key1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if key2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return key1, key2
}

// jwksServer serves a JWKS that the test can change, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches int
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	j := &jwksServer{keys: keys}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fetches++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: j.keys})
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(keys ...jose.JSONWebKey) {
	j.mu.Lock()
	j.keys = keys
	j.mu.Unlock()
}

func publicJWK(k *rsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

func goodClaims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": vIssuer, "aud": vClient, "sub": "alice", "nonce": vNonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// sign makes a compact JWS of claims: alg RS256 with key and kid (no kid
// when empty), HS256 with the client secret, or none.
func sign(t *testing.T, alg string, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	if alg == "none" {
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
	}
	var sk jose.SigningKey
	switch alg {
	case "HS256":
		sk = jose.SigningKey{Algorithm: jose.HS256, Key: []byte(vSecret)}
	default:
		var k any = key
		if kid != "" {
			k = jose.JSONWebKey{Key: key, KeyID: kid}
		}
		sk = jose.SigningKey{Algorithm: jose.RS256, Key: k}
	}
	signer, err := jose.NewSigner(sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newTestVerifier(jwksURL string, bugs BugSet) *idTokenVerifier {
	cfg := Config{ClientID: vClient, ClientSecret: vSecret, Bugs: bugs}
	return newIDTokenVerifier(vIssuer, jwksURL, []string{"RS256"}, cfg, &http.Client{Timeout: 5 * time.Second})
}

// verifierBugs are the switches that act in the ID token verifier.
var verifierBugs = []Bug{BugSkipIss, BugSkipAud, BugSkipSignature, BugAcceptAlgNone, BugAcceptAnyAlg,
	BugSkipExp, BugSkipIat, BugSkipNonce, BugSkipSub, BugRequireKid, BugCacheJWKSForever}

// TestVerifierBadTokens: each bad ID token (the stimuli of P1-P9) is refused
// by the clean verifier and by every other switch, and accepted with its own.
func TestVerifierBadTokens(t *testing.T) {
	k1, _ := testKeys(t)
	jwks := newJWKSServer(t, publicJWK(k1, "k1"))
	with := func(edit func(map[string]any)) map[string]any {
		c := goodClaims()
		edit(c)
		return c
	}
	cases := []struct {
		name  string
		token string
		bug   Bug
	}{
		{"other_iss", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { c["iss"] = "https://other.example" })), BugSkipIss},
		{"other_aud", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { c["aud"] = "other-client" })), BugSkipAud},
		{"no_aud", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { delete(c, "aud") })), BugSkipAud},
		{"bad_signature", corrupt(sign(t, "RS256", k1, "k1", goodClaims())), BugSkipSignature},
		{"alg_none", sign(t, "none", nil, "", goodClaims()), BugAcceptAlgNone},
		{"hs256_client_secret", sign(t, "HS256", nil, "", goodClaims()), BugAcceptAnyAlg},
		{"expired", sign(t, "RS256", k1, "k1", with(func(c map[string]any) {
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		})), BugSkipExp},
		{"no_iat", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { delete(c, "iat") })), BugSkipIat},
		{"iat_future", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { c["iat"] = time.Now().Add(24 * time.Hour).Unix() })), BugSkipIat},
		{"other_nonce", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { c["nonce"] = "nonce-2" })), BugSkipNonce},
		{"no_nonce", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { delete(c, "nonce") })), BugSkipNonce},
		{"no_sub", sign(t, "RS256", k1, "k1", with(func(c map[string]any) { delete(c, "sub") })), BugSkipSub},
	}
	ctx := context.Background()
	good := sign(t, "RS256", k1, "k1", goodClaims())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := newTestVerifier(jwks.srv.URL, nil).verify(ctx, c.token, vNonce); err == nil {
				t.Fatal("the clean verifier accepted it")
			} else if strings.Contains(err.Error(), "alice") {
				t.Fatalf("the error names the subject: %v", err)
			}
			for _, bug := range verifierBugs {
				v := newTestVerifier(jwks.srv.URL, BugSet{bug: true})
				_, err := v.verify(ctx, c.token, vNonce)
				if (err == nil) != (bug == c.bug) {
					t.Errorf("with %s: error %v", bug, err)
				}
				// Every switch still takes a good token (require_kid too: it has a kid).
				if _, err := v.verify(ctx, good, vNonce); err != nil {
					t.Errorf("with %s, a good token: %v", bug, err)
				}
			}
		})
	}
}

func corrupt(token string) string {
	parts := strings.Split(token, ".")
	sig := []byte(parts[2])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	return parts[0] + "." + parts[1] + "." + string(sig)
}

// TestVerifierNoKid (P10): a single key without kid verifies a token without
// kid; require_kid refuses it.
func TestVerifierNoKid(t *testing.T) {
	k1, _ := testKeys(t)
	jwks := newJWKSServer(t, publicJWK(k1, ""))
	token := sign(t, "RS256", k1, "", goodClaims())
	for _, bug := range verifierBugs {
		_, err := newTestVerifier(jwks.srv.URL, BugSet{bug: true}).verify(context.Background(), token, vNonce)
		if (err != nil) != (bug == BugRequireKid) {
			t.Errorf("with %s: error %v", bug, err)
		}
	}
	if _, err := newTestVerifier(jwks.srv.URL, nil).verify(context.Background(), token, vNonce); err != nil {
		t.Fatalf("clean: %v", err)
	}
}

// TestVerifierKeyRotation (P11): after a token with the first key, a token
// signed by a new kid makes the clean verifier fetch the JWKS again;
// cache_jwks_forever does not and refuses it.
func TestVerifierKeyRotation(t *testing.T) {
	k1, k2 := testKeys(t)
	for _, bugs := range []BugSet{nil, {BugCacheJWKSForever: true}} {
		jwks := newJWKSServer(t, publicJWK(k1, "k1"))
		v := newTestVerifier(jwks.srv.URL, bugs)
		ctx := context.Background()
		if _, err := v.verify(ctx, sign(t, "RS256", k1, "k1", goodClaims()), vNonce); err != nil {
			t.Fatalf("bugs %q, first token: %v", bugs, err)
		}
		// go-oidc's RemoteKeySet signals a fetch's waiters before it stores the
		// keys and frees the in-flight slot (oidc/jwks.go:209-226, v3.21.0), so
		// a verify right after the first can join that finished fetch and see
		// the old set. Real logins are seconds apart; give the goroutine its
		// moment here so the test judges the refetch, not that race.
		time.Sleep(100 * time.Millisecond)
		jwks.set(publicJWK(k1, "k1"), publicJWK(k2, "k2"))
		_, err := v.verify(ctx, sign(t, "RS256", k2, "k2", goodClaims()), vNonce)
		if (err != nil) != bugs.Has(BugCacheJWKSForever) {
			t.Fatalf("bugs %q, rotated token: %v", bugs, err)
		}
		jwks.mu.Lock()
		fetches := jwks.fetches
		jwks.mu.Unlock()
		if want := map[bool]int{false: 2, true: 1}[bugs.Has(BugCacheJWKSForever)]; fetches != want {
			t.Fatalf("bugs %q: %d JWKS fetches, want %d", bugs, fetches, want)
		}
	}
}
