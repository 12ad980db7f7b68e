package suites

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type testKey struct {
	priv any
	jwk  jose.JSONWebKey
}

func newRSAKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, jwk: jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}
}

func sign(t testing.TB, k testKey, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyJWT(t *testing.T) {
	good := newRSAKey(t, "k1")
	other := newRSAKey(t, "k1") // same kid, different key: a forged signature
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec := testKey{priv: ecPriv, jwk: jose.JSONWebKey{Key: &ecPriv.PublicKey, KeyID: "e1", Algorithm: "ES256", Use: "sig"}}
	set := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{good.jwk, ec.jwk}}
	claims := map[string]any{"iss": "http://127.0.0.1:1", "sub": "alice"}

	noneToken := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + "."

	tests := []struct {
		name    string
		raw     string
		algs    []string
		wantErr string
	}{
		{"rs256 good", sign(t, good, jose.RS256, "k1", "JWT", claims), []string{"RS256"}, ""},
		{"es256 good", sign(t, ec, jose.ES256, "e1", "at+jwt", claims), []string{"RS256", "ES256"}, ""},
		{"alg not advertised", sign(t, ec, jose.ES256, "e1", "", claims), []string{"RS256"}, "unexpected signature algorithm"},
		{"alg none refused even if listed", noneToken, []string{"none", "RS256"}, "unexpected signature algorithm"},
		{"only none advertised", noneToken, []string{"none"}, "no acceptable signing algorithm"},
		{"unknown kid", sign(t, good, jose.RS256, "k9", "", claims), []string{"RS256"}, `kid "k9" is not in`},
		{"no kid", sign(t, good, jose.RS256, "", "", claims), []string{"RS256"}, "no kid"},
		{"forged signature", sign(t, other, jose.RS256, "k1", "", claims), []string{"RS256"}, "signature does not verify"},
		{"key alg disagrees", sign(t, ec, jose.ES256, "k1", "", claims), []string{"RS256", "ES256"}, "is for alg RS256"},
		{"not a JWS", "abc", []string{"RS256"}, "not a compact JWS"},
		{"garbage parts", "a.b.c", []string{"RS256"}, "header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyJWT(tc.raw, set, tc.algs)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyJWT: %v", err)
				}
				if iss, _ := got.Claims.String("iss"); iss != "http://127.0.0.1:1" {
					t.Fatalf("claims not decoded: %v", got.Claims)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyJWT error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if got, err := VerifyJWT(sign(t, ec, jose.ES256, "e1", "at+jwt", claims), set, []string{"ES256"}); err != nil || got.Typ != "at+jwt" || got.Alg != "ES256" || got.Kid != "e1" {
		t.Fatalf("header fields: %+v, %v", got, err)
	}
}

func TestClaimChecks(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	claims := func(js string) Claims {
		c, err := decodeClaims([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := claims(`{"iss":"https://op","aud":["app","api"],"azp":"app","iat":1800000000,"exp":1800003600,"nonce":"n-1","at_hash":"` + mustHalfHash(t, "tok", "RS256") + `"}`)
	checks := map[string]error{
		"iss":     CheckIssuer(c, "https://op"),
		"aud":     CheckAudience(c, "app"),
		"azp":     CheckAuthorizedParty(c, "app"),
		"iat":     CheckIssuedAt(c, now, time.Minute),
		"exp":     CheckExpiry(c, now, time.Minute),
		"nbf":     CheckNotBefore(c, now, time.Minute),
		"expires": CheckExpiresIn(c, time.Hour, 5*time.Second),
		"nonce":   CheckNonce(c, "n-1"),
		"at_hash": CheckHashClaim(c, "at_hash", "tok", "RS256", true),
		"c_hash":  CheckHashClaim(c, "c_hash", "code", "RS256", false),
	}
	for name, err := range checks {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
	}
	failures := []struct {
		err   error
		claim string
	}{
		{CheckIssuer(c, "https://op/"), "claim iss"},
		{CheckIssuer(claims(`{}`), "x"), "claim iss"},
		{CheckAudience(c, "other"), "claim aud"},
		{CheckAudience(claims(`{"aud":5}`), "x"), "claim aud"},
		{CheckAuthorizedParty(c, "api"), "claim azp"},
		{CheckAuthorizedParty(claims(`{"aud":["a","b"]}`), "a"), "claim azp"},
		{CheckIssuedAt(claims(`{"iat":1900000000}`), now, time.Minute), "claim iat"},
		{CheckIssuedAt(claims(`{"iat":"soon"}`), now, time.Minute), "claim iat"},
		{CheckExpiry(claims(`{"iat":1800000000,"exp":1800000000}`), now, time.Minute), "claim exp"},
		{CheckExpiry(claims(`{"exp":1700000000}`), now, time.Minute), "claim exp"},
		{CheckExpiry(claims(`{}`), now, time.Minute), "claim exp"},
		{CheckNotBefore(claims(`{"nbf":1900000000}`), now, time.Minute), "claim nbf"},
		{CheckExpiresIn(c, 2*time.Hour, 5*time.Second), "claim exp"},
		{CheckNonce(c, "n-2"), "claim nonce"},
		{CheckNonce(claims(`{}`), "n"), "claim nonce"},
		{CheckHashClaim(c, "at_hash", "other", "RS256", true), "claim at_hash"},
		{CheckHashClaim(c, "c_hash", "code", "RS256", true), "claim c_hash"},
		{CheckHashClaim(c, "at_hash", "tok", "HS1", true), "claim at_hash"},
	}
	for i, f := range failures {
		if f.err == nil || !strings.HasPrefix(f.err.Error(), f.claim) {
			t.Errorf("failure %d: error %v, want one starting with %q", i, f.err, f.claim)
		}
	}
	if _, err := decodeClaims([]byte(`null`)); err == nil {
		t.Error("null payload accepted")
	}
	if _, err := decodeClaims([]byte(`{} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func mustHalfHash(t *testing.T, v, alg string) string {
	t.Helper()
	h, err := HalfHash(v, alg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FuzzVerifyJWT: whatever arrives, VerifyJWT against a real key set (an RSA
// and an EC key, each with its kid) returns an error or a token whose
// signature go-jose itself verifies with the key its kid names, never panics,
// and never takes alg none. The seeds include tokens those keys signed, so the
// fuzzer starts from inputs that verify and mutates them.
func FuzzVerifyJWT(f *testing.F) {
	rsaKey := newRSAKey(f, "rsa1")
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecKey := testKey{priv: ecPriv, jwk: jose.JSONWebKey{Key: &ecPriv.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"}}
	set := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaKey.jwk, ecKey.jwk}}
	claims := map[string]any{"iss": "https://issuer.example", "aud": "client", "exp": 1 << 40}
	for _, seed := range []string{
		sign(f, rsaKey, jose.RS256, "rsa1", "JWT", claims),
		sign(f, ecKey, jose.ES256, "ec1", "at+jwt", claims),
		sign(f, rsaKey, jose.RS256, "ec1", "JWT", claims), // kid of the other key
		"eyJhbGciOiJub25lIn0.e30.",
		"a.b.c",
	} {
		f.Add(seed)
	}
	if _, err := VerifyJWT(sign(f, rsaKey, jose.RS256, "rsa1", "JWT", claims), set, AsymmetricAlgs); err != nil {
		f.Fatalf("a token the key set's RSA key signed does not verify: %v", err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := VerifyJWT(raw, set, AsymmetricAlgs)
		if err != nil {
			return
		}
		if strings.EqualFold(got.Alg, "none") {
			t.Fatalf("verified a token with alg none: %q", raw)
		}
		keys := set.Key(got.Kid)
		if len(keys) != 1 {
			t.Fatalf("verified with kid %q, which names %d keys", got.Kid, len(keys))
		}
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(got.Alg)})
		if err != nil {
			t.Fatalf("VerifyJWT took %q, go-jose cannot parse it: %v", raw, err)
		}
		if _, err := jws.Verify(keys[0].Public()); err != nil {
			t.Fatalf("VerifyJWT took %q, its signature does not verify with key %q: %v", raw, got.Kid, err)
		}
	})
}

func TestHeaderAlg(t *testing.T) {
	for raw, want := range map[string]string{
		"eyJhbGciOiJub25lIn0.e30.": "none",
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k"}`)) + ".e30.sig": "RS256",
	} {
		if got, err := HeaderAlg(raw); err != nil || got != want {
			t.Errorf("HeaderAlg(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{"a.b", "!!.e30.x", base64.RawURLEncoding.EncodeToString([]byte(`{"kid":"k"}`)) + ".e30.x", "bnVsbA.e30.x"} {
		if _, err := HeaderAlg(bad); err == nil {
			t.Errorf("HeaderAlg(%q): no error", bad)
		}
	}
}
