package suites

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// This file holds the token validation the T checks use: plain Go, no Ginkgo, so a
// fuzz test can drive VerifyJWT directly. Each claim has its own check so that a
// failing spec names the claim that was wrong.

// VerifiedJWT is a compact JWS whose signature verified against a key of the
// provider's JWK set.
type VerifiedJWT struct {
	// Alg, Kid and Typ are the protected header's alg, kid and typ.
	Alg string
	Kid string
	Typ string
	// Claims is the payload, decoded with numbers kept exact.
	Claims Claims
}

// VerifyJWT verifies the compact JWS raw against jwks. It accepts the token only
// when its header names a kid found in the set, its alg is one of allowedAlgs
// ("none" is refused even when listed) and agrees with the key, and the signature
// verifies with that key. It never panics on hostile input.
func VerifyJWT(raw string, jwks *jose.JSONWebKeySet, allowedAlgs []string) (*VerifiedJWT, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, errors.New("jwt: not a compact JWS (want three dot-separated parts)")
	}
	var algs []jose.SignatureAlgorithm
	for _, alg := range allowedAlgs {
		if alg != "" && !strings.EqualFold(alg, "none") {
			algs = append(algs, jose.SignatureAlgorithm(alg))
		}
	}
	if len(algs) == 0 {
		return nil, errors.New("jwt: no acceptable signing algorithm (the provider advertises none besides \"none\")")
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return nil, fmt.Errorf("jwt: header: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("jwt: %d signatures, want exactly 1", len(jws.Signatures))
	}
	header := jws.Signatures[0].Protected
	out := &VerifiedJWT{Alg: header.Algorithm, Kid: header.KeyID}
	if typ, ok := header.ExtraHeaders[jose.HeaderType].(string); ok {
		out.Typ = typ
	}
	if header.KeyID == "" {
		return nil, errors.New("jwt: header has no kid, so the key cannot be looked up in jwks_uri")
	}
	if jwks == nil {
		return nil, errors.New("jwt: no JWK set to verify against")
	}
	candidates := jwks.Key(header.KeyID)
	if len(candidates) == 0 {
		return nil, fmt.Errorf("jwt: kid %q is not in the provider's JWK set", header.KeyID)
	}
	var lastErr error
	for i := range candidates {
		key := candidates[i]
		if key.Algorithm != "" && key.Algorithm != header.Algorithm {
			lastErr = fmt.Errorf("jwt: key %q is for alg %s, token says %s", key.KeyID, key.Algorithm, header.Algorithm)
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			lastErr = fmt.Errorf("jwt: key %q has use %q, not sig", key.KeyID, key.Use)
			continue
		}
		payload, err := jws.Verify(key.Public())
		if err != nil {
			lastErr = fmt.Errorf("jwt: signature does not verify with key %q: %w", key.KeyID, err)
			continue
		}
		claims, err := decodeClaims(payload)
		if err != nil {
			return nil, err
		}
		out.Claims = claims
		return out, nil
	}
	return nil, lastErr
}

// AsymmetricAlgs are the JWS algorithms a provider's public JWK set can
// verify (RFC 7518 3.1, RFC 8037): what a token's signature may use before
// T1 asks whether its alg is the advertised one.
var AsymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// HeaderAlg returns the alg of a compact JWS's protected header without
// verifying anything, so that a check can judge the alg ("none", one not
// advertised) apart from the signature.
func HeaderAlg(raw string) (string, error) {
	first, _, ok := strings.Cut(raw, ".")
	if !ok || strings.Count(raw, ".") != 2 {
		return "", errors.New("jwt: not a compact JWS (want three dot-separated parts)")
	}
	b, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return "", fmt.Errorf("jwt: header is not base64url: %w", err)
	}
	var header struct {
		Alg *string `json:"alg"`
	}
	if err := json.Unmarshal(b, &header); err != nil {
		return "", fmt.Errorf("jwt: header is not a JSON object: %w", err)
	}
	if header.Alg == nil {
		return "", errors.New("jwt: header has no alg")
	}
	return *header.Alg, nil
}

// Claims is a JWT payload. Numbers are json.Number so that large values survive.
type Claims map[string]any

func decodeClaims(payload []byte) (Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims Claims
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("jwt: payload is not a JSON object: %w", err)
	}
	if claims == nil {
		return nil, errors.New("jwt: payload is null, want a JSON object")
	}
	if dec.More() {
		return nil, errors.New("jwt: payload has trailing data after the JSON object")
	}
	return claims, nil
}

// String returns the string claim name, and whether it was present as a string.
func (c Claims) String(name string) (string, bool) {
	s, ok := c[name].(string)
	return s, ok
}

// Time returns the NumericDate claim name (RFC 7519 2: seconds since the epoch,
// fractions allowed).
func (c Claims) Time(name string) (time.Time, error) {
	v, present := c[name]
	if !present {
		return time.Time{}, fmt.Errorf("claim %s: missing", name)
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("claim %s: %v is not a number", name, v)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("claim %s: %s is not a sane NumericDate", name, n)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// CheckIssuer: iss equals the issuer from discovery, byte for byte (OIDC Core 2).
func CheckIssuer(c Claims, issuer string) error {
	iss, ok := c.String("iss")
	if !ok {
		return errors.New("claim iss: missing or not a string")
	}
	if iss != issuer {
		return fmt.Errorf("claim iss: %q, want the discovery issuer %q", iss, issuer)
	}
	return nil
}

// Audiences returns aud as a list, whether the token carried a string or an array.
func (c Claims) Audiences() ([]string, error) {
	switch aud := c["aud"].(type) {
	case string:
		return []string{aud}, nil
	case []any:
		out := make([]string, 0, len(aud))
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("claim aud: member %v is not a string", a)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, errors.New("claim aud: missing")
	default:
		return nil, fmt.Errorf("claim aud: %v is neither a string nor an array", aud)
	}
}

// CheckAudience: aud holds want (the client_id for ID tokens, the resource for
// access tokens).
func CheckAudience(c Claims, want string) error {
	auds, err := c.Audiences()
	if err != nil {
		return err
	}
	if !slices.Contains(auds, want) {
		return fmt.Errorf("claim aud: %q does not hold %q", auds, want)
	}
	return nil
}

// CheckAuthorizedParty: azp, when present, is the client_id; it must be present
// when aud names more than one party (OIDC Core 2).
func CheckAuthorizedParty(c Claims, clientID string) error {
	azp, present := c["azp"]
	if !present {
		auds, err := c.Audiences()
		if err == nil && len(auds) > 1 {
			return fmt.Errorf("claim azp: missing while aud holds %d parties", len(auds))
		}
		return nil
	}
	if s, ok := azp.(string); !ok || s != clientID {
		return fmt.Errorf("claim azp: %v, want %q", azp, clientID)
	}
	return nil
}

// CheckIssuedAt: iat is present and not later than now (+ skew).
func CheckIssuedAt(c Claims, now time.Time, skew time.Duration) error {
	iat, err := c.Time("iat")
	if err != nil {
		return err
	}
	if iat.After(now.Add(skew)) {
		return fmt.Errorf("claim iat: %s is in the future (now %s, skew %s)", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	}
	return nil
}

// CheckExpiry: exp is present, after iat, and not already past at now (- skew).
func CheckExpiry(c Claims, now time.Time, skew time.Duration) error {
	exp, err := c.Time("exp")
	if err != nil {
		return err
	}
	if iat, err := c.Time("iat"); err == nil && !exp.After(iat) {
		return fmt.Errorf("claim exp: %s is not after iat %s", exp.UTC().Format(time.RFC3339), iat.UTC().Format(time.RFC3339))
	}
	if exp.Before(now.Add(-skew)) {
		return fmt.Errorf("claim exp: %s has already passed (now %s)", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckNotBefore: nbf, when present, is not later than now (+ skew).
func CheckNotBefore(c Claims, now time.Time, skew time.Duration) error {
	if _, present := c["nbf"]; !present {
		return nil
	}
	nbf, err := c.Time("nbf")
	if err != nil {
		return err
	}
	if nbf.After(now.Add(skew)) {
		return fmt.Errorf("claim nbf: %s is in the future (now %s)", nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckExpiresIn: exp - iat agrees with the token response's expires_in within
// skew (RFC 9068 2.2), so a client that trusts expires_in is not misled.
func CheckExpiresIn(c Claims, expiresIn time.Duration, skew time.Duration) error {
	exp, err := c.Time("exp")
	if err != nil {
		return err
	}
	iat, err := c.Time("iat")
	if err != nil {
		return err
	}
	lifetime := exp.Sub(iat)
	if diff := lifetime - expiresIn; diff > skew || diff < -skew {
		return fmt.Errorf("claim exp: exp-iat is %s but expires_in says %s (allowed skew %s)", lifetime, expiresIn, skew)
	}
	return nil
}

// CheckNonce: nonce is echoed exactly (OIDC Core 3.1.3.6).
func CheckNonce(c Claims, nonce string) error {
	got, ok := c.String("nonce")
	if !ok {
		return errors.New("claim nonce: missing or not a string")
	}
	if got != nonce {
		return fmt.Errorf("claim nonce: %q, want the nonce sent %q", shorten(got), shorten(nonce))
	}
	return nil
}

// CheckHashClaim checks at_hash or c_hash (OIDC Core 3.1.3.6, 3.3.2.11): the
// base64url of the left half of the hash of value, with the hash that matches
// alg. A missing claim passes when required is false.
func CheckHashClaim(c Claims, name, value, alg string, required bool) error {
	got, present := c[name]
	if !present {
		if required {
			return fmt.Errorf("claim %s: missing", name)
		}
		return nil
	}
	s, ok := got.(string)
	if !ok {
		return fmt.Errorf("claim %s: %v is not a string", name, got)
	}
	want, err := HalfHash(value, alg)
	if err != nil {
		return fmt.Errorf("claim %s: %w", name, err)
	}
	if s != want {
		return fmt.Errorf("claim %s: %q, want %q", name, s, want)
	}
	return nil
}

// HalfHash is the at_hash / c_hash value of value for a token signed with alg.
func HalfHash(value, alg string) (string, error) {
	var h hash.Hash
	switch {
	case strings.HasSuffix(alg, "256"):
		h = sha256.New()
	case strings.HasSuffix(alg, "384"):
		h = sha512.New384()
	case strings.HasSuffix(alg, "512"), alg == "EdDSA":
		h = sha512.New()
	default:
		return "", fmt.Errorf("no hash defined for alg %q", alg)
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// shorten keeps a secret-ish value readable in a failure message without printing
// it whole.
func shorten(s string) string {
	if len(s) <= 8 {
		return s
	}
	return fmt.Sprintf("%s…(%d chars)", s[:6], len(s))
}
