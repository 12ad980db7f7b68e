package goapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// iatLeeway is how far in the future an ID token's iat may lie (clock skew).
const iatLeeway = 2 * time.Minute

// everyAlg is every JWS alg go-jose knows, plus none: the header is parsed
// with it so that the app's own alg policy (below) decides, not the parser.
var everyAlg = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, "none",
}

// idTokenVerifier verifies ID tokens with go-oidc, plus what go-oidc leaves to
// its caller: go-oidc's IDTokenVerifier.Verify (oidc/verify.go:199-286 in
// v3.21.0) checks the signature, iss, aud and exp/nbf but not iat, nonce or
// sub, and it lets "none" through only with InsecureSkipSignatureCheck
// (verify.go:305-309), which also skips every signature. So the alg policy is
// ours: the header is read first, and each bug switch picks one path.
type idTokenVerifier struct {
	bugs         BugSet
	clientSecret string
	// advertised is the provider's id_token_signing_alg_values_supported.
	advertised []string
	// checked verifies signatures against keys (go-oidc's RemoteKeySet, or
	// the never-refreshed set of cache_jwks_forever).
	checked *oidc.IDTokenVerifier
	// anyAsymmetric is checked with every asymmetric alg allowed (accept_any_alg).
	anyAsymmetric *oidc.IDTokenVerifier
	// unchecked runs go-oidc's claim checks with the signature left alone
	// (skip_signature, accept_alg_none, and HS* under accept_any_alg after the
	// app verified the MAC itself).
	unchecked *oidc.IDTokenVerifier
	now       func() time.Time
}

func newIDTokenVerifier(issuer, jwksURI string, advertised []string, cfg Config, client *http.Client) *idTokenVerifier {
	bugs := cfg.Bugs
	var keys oidc.KeySet
	if bugs.Has(BugCacheJWKSForever) {
		keys = &onceKeySet{jwksURI: jwksURI, client: client}
	} else {
		// RemoteKeySet refetches the JWKS when no cached key verifies the
		// token: when the kid is unknown, or with no kid when no cached key
		// fits (oidc/jwks.go:155-189). It tries only keys whose kid equals the
		// token's, and every key when the token has none (jwks.go:165), so a
		// single key without kid (P10) verifies.
		keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwksURI)
	}
	base := oidc.Config{
		ClientID:          cfg.ClientID,
		SkipIssuerCheck:   bugs.Has(BugSkipIss),
		SkipClientIDCheck: bugs.Has(BugSkipAud),
		SkipExpiryCheck:   bugs.Has(BugSkipExp),
	}
	checked := base
	checked.SupportedSigningAlgs = advertised
	anyAsym := base
	anyAsym.SupportedSigningAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	unchecked := base
	unchecked.InsecureSkipSignatureCheck = true
	for _, a := range everyAlg {
		if a != "none" { // go-oidc adds none itself in this mode (verify.go:305-309)
			unchecked.SupportedSigningAlgs = append(unchecked.SupportedSigningAlgs, string(a))
		}
	}
	return &idTokenVerifier{
		bugs:          bugs,
		clientSecret:  cfg.ClientSecret,
		advertised:    advertised,
		checked:       oidc.NewVerifier(issuer, keys, &checked),
		anyAsymmetric: oidc.NewVerifier(issuer, keys, &anyAsym),
		unchecked:     oidc.NewVerifier(issuer, keys, &unchecked),
		now:           time.Now,
	}
}

// verify checks raw as the ID token of a login that sent nonce (empty: none
// sent) and returns it. Error messages never hold the token or its subject.
func (v *idTokenVerifier) verify(ctx context.Context, raw, nonce string) (*oidc.IDToken, error) {
	jws, err := jose.ParseSigned(raw, everyAlg)
	if err != nil {
		return nil, fmt.Errorf("the ID token is not a JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("the ID token does not carry exactly one signature")
	}
	header := jws.Signatures[0].Header
	alg := header.Algorithm
	if v.bugs.Has(BugRequireKid) && header.KeyID == "" { // the bug: OIDC Core 10.1 allows no kid with a single key
		return nil, errors.New("the ID token header has no kid")
	}
	verifier := v.checked
	switch {
	case alg == "none":
		if !v.bugs.Has(BugAcceptAlgNone) {
			return nil, errors.New("the ID token is unsigned (alg none)")
		}
		verifier = v.unchecked
	case !slices.Contains(v.advertised, alg):
		if !v.bugs.Has(BugAcceptAnyAlg) {
			return nil, fmt.Errorf("the ID token's alg %s is not among the provider's id_token_signing_alg_values_supported %v", alg, v.advertised)
		}
		if strings.HasPrefix(alg, "HS") {
			// The classic confusion: a MAC keyed with the client secret
			// (which OIDC Core 10.1 allows only when the provider says so).
			if !hmacVerifies(raw, alg, v.clientSecret) {
				return nil, fmt.Errorf("the ID token's %s MAC does not verify with the client secret", alg)
			}
			verifier = v.unchecked
		} else {
			verifier = v.anyAsymmetric
		}
	case v.bugs.Has(BugSkipSignature):
		verifier = v.unchecked
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("the ID token was refused: %v", err)
	}
	// go-oidc does not look at iat (verify.go:237-286 checks iss, aud, exp, nbf only).
	if !v.bugs.Has(BugSkipIat) {
		switch {
		case tok.IssuedAt.IsZero():
			return nil, errors.New("the ID token has no iat")
		case tok.IssuedAt.After(v.now().Add(iatLeeway)):
			return nil, fmt.Errorf("the ID token's iat %s lies in the future", tok.IssuedAt.UTC().Format(time.RFC3339))
		}
	}
	// go-oidc leaves nonce to its caller (oidc.Nonce only adds it to the request).
	if !v.bugs.Has(BugSkipNonce) && nonce != "" {
		if tok.Nonce == "" {
			return nil, errors.New("the ID token has no nonce, but the login sent one")
		}
		if subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
			return nil, errors.New("the ID token's nonce differs from the one the login sent")
		}
	}
	// go-oidc does not require sub either.
	if !v.bugs.Has(BugSkipSub) && tok.Subject == "" {
		return nil, errors.New("the ID token has no sub")
	}
	return tok, nil
}

// hmacVerifies checks a compact JWS's HS256/384/512 MAC keyed with secret.
// By hand, because go-jose refuses HMAC keys shorter than the hash
// (symmetric.go:509-515 in v4.1.9) and client secrets often are.
func hmacVerifies(raw, alg, secret string) bool {
	var h func() hash.Hash
	switch alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return false
	}
	dot := strings.LastIndexByte(raw, '.')
	if dot < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil {
		return false
	}
	mac := hmac.New(h, []byte(secret))
	mac.Write([]byte(raw[:dot]))
	return hmac.Equal(mac.Sum(nil), sig)
}

// onceKeySet is cache_jwks_forever's key set: the JWKS is fetched at the first
// verification and never again, so a key rotated in later is unknown (P11).
type onceKeySet struct {
	jwksURI string
	client  *http.Client

	mu   sync.Mutex
	keys *jose.JSONWebKeySet
}

var _ oidc.KeySet = (*onceKeySet)(nil)

func (s *onceKeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	jws, err := jose.ParseSigned(raw, everyAlg)
	if err != nil {
		return nil, err
	}
	kid := jws.Signatures[0].Header.KeyID
	// Keys are matched as RemoteKeySet matches them (by kid, every key when the
	// token has none), plus keys without kid, so a set first cached while the
	// JWKS had no kids still verifies; only the refetch is missing.
	for _, key := range keys.Keys {
		if kid == "" || key.KeyID == kid || key.KeyID == "" {
			if payload, err := jws.Verify(&key); err == nil {
				return payload, nil
			}
		}
	}
	return nil, errors.New("no cached JWKS key verifies the signature (the JWKS is never fetched again)")
}

func (s *onceKeySet) load(ctx context.Context) (*jose.JSONWebKeySet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.jwksURI, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding the JWKS: %w", err)
	}
	s.keys = &set
	return s.keys, nil
}
