package mockprovider

// JWT assertions (RFC 7521, RFC 7523): the verification that client
// authentication with private_key_jwt and client_secret_jwt (clientauth.go)
// and the JWT bearer grant (token_jwtbearer.go) share: the keys that may have
// signed an assertion, its claims, and the jti replay cache.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.yaml.in/yaml/v3"
)

// Signature algorithms accepted in assertions. "none" is never among them:
// jose.ParseSigned refuses any algorithm not listed.
var (
	asymmetricAssertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	hmacAssertionAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
)

// AssertionSigningAlgs are the algorithms the provider accepts in client
// assertions (token_endpoint_auth_signing_alg_values_supported): the
// asymmetric ones for private_key_jwt, the HMAC ones for client_secret_jwt.
func AssertionSigningAlgs() []string {
	out := make([]string, 0, len(asymmetricAssertionAlgs)+len(hmacAssertionAlgs))
	for _, a := range slices.Concat(asymmetricAssertionAlgs, hmacAssertionAlgs) {
		out = append(out, string(a))
	}
	return out
}

// assertionLeeway is the clock difference tolerated on exp, nbf and iat.
const assertionLeeway = 30 * time.Second

// JWKS is a JSON Web Key Set (RFC 7517 5) of public keys written inline in
// the YAML configuration, in the JSON shape: {keys: [{kty: EC, crv: P-256,
// x: ..., y: ..., kid: ...}]}.
type JWKS struct {
	jose.JSONWebKeySet
}

// UnmarshalYAML reads the set through its JSON form, which go-jose parses.
func (k *JWKS) UnmarshalYAML(node *yaml.Node) error {
	var generic any
	if err := node.Decode(&generic); err != nil {
		return err
	}
	data, err := json.Marshal(generic)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	if err := json.Unmarshal(data, &k.JSONWebKeySet); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	return nil
}

// MarshalYAML writes the set in its JSON shape.
func (k JWKS) MarshalYAML() (any, error) {
	data, err := json.Marshal(k.JSONWebKeySet)
	if err != nil {
		return nil, err
	}
	var generic any
	err = json.Unmarshal(data, &generic)
	return generic, err
}

// validateJWKS checks that a configured set holds signing public keys only,
// with distinct key ids.
func validateJWKS(field string, set *JWKS) error {
	if len(set.Keys) == 0 {
		return fieldErr(field+".keys", "at least one key is required")
	}
	kids := map[string]bool{}
	for i, k := range set.Keys {
		f := fmt.Sprintf("%s.keys[%d]", field, i)
		if !k.Valid() {
			return fieldErr(f, "not a valid JWK")
		}
		if !k.IsPublic() {
			return fieldErr(f, "is a private or symmetric key; the provider needs the public key only")
		}
		if k.Use != "" && k.Use != "sig" {
			return fieldErr(f+".use", "%q: only signing keys (use sig) verify assertions", k.Use)
		}
		if k.KeyID != "" {
			if kids[k.KeyID] {
				return fieldErr(f+".kid", "%q listed twice", k.KeyID)
			}
			kids[k.KeyID] = true
		}
	}
	return nil
}

func validateJWKSURI(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fieldErr(field, "%q is not an http or https URL", raw)
	}
	return nil
}

// keySource holds the keys that may have signed an assertion: an inline key
// set, a jwks_uri fetched when needed, or a shared secret (client_secret_jwt).
type keySource struct {
	static []jose.JSONWebKey
	secret []byte
	uri    string
	// algs are the algorithms these keys may sign with.
	algs []jose.SignatureAlgorithm

	mu        sync.Mutex
	fetched   []jose.JSONWebKey
	fetchedAt time.Time // wall-clock time of the last fetch attempt
	fetchErr  error     // why the last attempt failed
}

// jwksMaxAge is how long fetched keys are used before jwks_uri is read
// again; jwksRefetchGap is the least time between two reads, so that
// assertions naming unknown key ids cannot make the provider hammer the URI.
const (
	jwksMaxAge     = 5 * time.Minute
	jwksRefetchGap = time.Second
	jwksMaxBytes   = 256 << 10
)

var jwksHTTPClient = &http.Client{Timeout: 5 * time.Second}

func newJWKSKeySource(set *JWKS, uri string) *keySource {
	ks := &keySource{uri: uri, algs: asymmetricAssertionAlgs}
	if set != nil {
		ks.static = set.Keys
	}
	return ks
}

func newSecretKeySource(secret string) *keySource {
	return &keySource{secret: []byte(secret), algs: hmacAssertionAlgs}
}

// candidates returns the keys that may verify a JWS with header h: for a
// key set, the keys with h's kid (every key when h has none) whose alg and
// use allow it. refresh reads jwks_uri again first, if the last read is
// older than jwksRefetchGap.
func (ks *keySource) candidates(ctx context.Context, h jose.Header, refresh bool) ([]any, error) {
	if ks.secret != nil {
		return []any{ks.secret}, nil
	}
	keys := ks.static
	if ks.uri != "" {
		var err error
		if keys, err = ks.remote(ctx, refresh); err != nil {
			return nil, err
		}
	}
	var out []any
	for i := range keys {
		k := &keys[i]
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm || k.Use != "" && k.Use != "sig" || !k.IsPublic() {
			continue
		}
		out = append(out, k.Key)
	}
	return out, nil
}

// remote returns the keys at jwks_uri, read when none are cached, when the
// cache is older than jwksMaxAge, or when refresh asks and the last read is
// older than jwksRefetchGap.
func (ks *keySource) remote(ctx context.Context, refresh bool) ([]jose.JSONWebKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	age := time.Since(ks.fetchedAt)
	stale := ks.fetched == nil || age > jwksMaxAge || refresh
	if !stale || age < jwksRefetchGap && ks.fetched != nil {
		return ks.fetched, nil
	}
	if ks.fetched == nil && ks.fetchErr != nil && age < jwksRefetchGap {
		return nil, ks.fetchErr
	}
	ks.fetchedAt = time.Now()
	keys, err := fetchClientJWKS(ctx, ks.uri)
	if err != nil {
		ks.fetchErr = err
		if ks.fetched != nil {
			return ks.fetched, nil // keep the last good set through an outage
		}
		return nil, err
	}
	ks.fetched, ks.fetchErr = keys, nil
	return keys, nil
}

func fetchClientJWKS(ctx context.Context, uri string) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := jwksHTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the client's jwks_uri could not be read: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the client's jwks_uri answered %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("the client's jwks_uri is not a JWK set: %w", err)
	}
	return set.Keys, nil
}

// assertionRules say what an assertion must be to be accepted.
type assertionRules struct {
	keys *keySource
	// issuer is the iss the assertion must carry.
	issuer string
	// subject, when set, is the sub it must carry; otherwise any non-empty
	// sub is accepted.
	subject string
	// audiences are the values that identify this provider; aud must hold
	// one of them.
	audiences []string
	// requireJTI refuses an assertion without jti (OIDC Core 9 requires it
	// in client assertions; RFC 7523 3 leaves it optional in grants).
	requireJTI bool
	// replayScope separates the jti namespaces of client assertions and
	// grant assertions, and of issuers.
	replayScope string
	// client is the client in context, for defects.
	client *Client
}

// verifiedAssertion is what an accepted assertion says.
type verifiedAssertion struct {
	claims jwt.Claims
	alg    string
}

// verifyAssertion checks a JWT assertion against rules at now: signed with
// one of the rules' keys in an accepted algorithm, iss, sub and aud as the
// rules say, exp present, not passed and at most limits.max_assertion_lifetime
// ahead, nbf and iat not in the future, iat not older than that lifetime, and
// a jti not seen before (recorded until exp). The error says why an
// assertion is refused, in words fit for error_description; callers choose
// the error code (invalid_client for client authentication, invalid_grant for
// the grant).
func (p *Provider) verifyAssertion(ctx context.Context, raw string, rules assertionRules, now time.Time) (verifiedAssertion, error) {
	if raw == "" {
		return verifiedAssertion{}, errors.New("the assertion is empty")
	}
	tok, err := jwt.ParseSigned(raw, rules.keys.algs)
	if err != nil {
		return verifiedAssertion{}, fmt.Errorf("the assertion is not a compact JWS signed with one of %s", algNames(rules.keys.algs))
	}
	h := tok.Headers[0]
	var claims jwt.Claims
	if !p.verifyWithKeys(ctx, tok, h, rules, &claims) {
		return verifiedAssertion{}, errors.New("the assertion's signature does not verify with the keys registered for it")
	}
	if claims.Issuer != rules.issuer {
		return verifiedAssertion{}, fmt.Errorf("the assertion's iss must be %q", truncate(rules.issuer, 80))
	}
	switch {
	case rules.subject != "" && claims.Subject != rules.subject:
		return verifiedAssertion{}, fmt.Errorf("the assertion's sub must be %q", truncate(rules.subject, 80))
	case claims.Subject == "":
		return verifiedAssertion{}, errors.New("the assertion has no sub")
	}
	if !slices.ContainsFunc(rules.audiences, claims.Audience.Contains) {
		return verifiedAssertion{}, fmt.Errorf("the assertion's aud must name this provider: one of %s", strings.Join(rules.audiences, ", "))
	}
	maxLife := p.cfg.Limits.MaxAssertionLifetime
	if claims.Expiry == nil {
		return verifiedAssertion{}, errors.New("the assertion has no exp")
	}
	exp := claims.Expiry.Time()
	if now.Add(-assertionLeeway).After(exp) {
		return verifiedAssertion{}, errors.New("the assertion has expired")
	}
	if exp.After(now.Add(maxLife + assertionLeeway)) {
		return verifiedAssertion{}, fmt.Errorf("the assertion's exp is more than %v ahead", maxLife)
	}
	if claims.NotBefore != nil && now.Add(assertionLeeway).Before(claims.NotBefore.Time()) {
		return verifiedAssertion{}, errors.New("the assertion is not valid yet (nbf)")
	}
	if claims.IssuedAt != nil {
		iat := claims.IssuedAt.Time()
		if now.Add(assertionLeeway).Before(iat) {
			return verifiedAssertion{}, errors.New("the assertion's iat is in the future")
		}
		if iat.Before(now.Add(-maxLife - assertionLeeway)) {
			return verifiedAssertion{}, fmt.Errorf("the assertion was issued more than %v ago", maxLife)
		}
	}
	if claims.ID == "" {
		if rules.requireJTI {
			return verifiedAssertion{}, errors.New("the assertion has no jti")
		}
	} else if err := p.assertionReplay.firstUse(rules.replayScope+"\x00"+claims.Issuer+"\x00"+claims.ID, exp.Add(assertionLeeway), now); err != nil {
		return verifiedAssertion{}, err
	}
	return verifiedAssertion{claims: claims, alg: h.Algorithm}, nil
}

// verifyWithKeys verifies tok's signature with a candidate key and decodes
// its claims into claims; a key set behind a jwks_uri is read again once
// when no key verifies (the client may have rotated its keys).
func (p *Provider) verifyWithKeys(ctx context.Context, tok *jwt.JSONWebToken, h jose.Header, rules assertionRules, claims *jwt.Claims) bool {
	for attempt := range 2 {
		if attempt == 1 && rules.keys.uri == "" {
			break
		}
		keys, err := rules.keys.candidates(ctx, h, attempt == 1)
		if err != nil {
			p.log.Warn("assertion keys unavailable", "err", truncate(err.Error(), 200))
			return false
		}
		for _, k := range keys {
			if tok.Claims(k, claims) == nil {
				return true
			}
		}
	}
	return false
}

func algNames(algs []jose.SignatureAlgorithm) string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// replayCache remembers the jti of every accepted assertion until its exp
// (by the provider's clock): an assertion is single use (RFC 7523 3, OIDC
// Core 9). Entries past their expiry are swept when the cache has doubled
// since the last sweep or a minute of the clock has passed, so it holds
// little more than the assertions accepted within max_assertion_lifetime,
// and never more than maxReplayEntries (new assertions are refused then).
type replayCache struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	nextSweep int
	lastSweep time.Time
}

const (
	maxReplayEntries = 1 << 20
	minReplaySweep   = 1024
	replaySweepEvery = time.Minute
)

// firstUse records key until until and reports an error when it was already
// recorded and has not expired, or when the cache is full.
func (c *replayCache) firstUse(key string, until, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
		c.nextSweep = minReplaySweep
	}
	if prev, ok := c.seen[key]; ok && now.Before(prev) {
		return errors.New("the assertion's jti was used before (replay)")
	}
	if len(c.seen) >= c.nextSweep || now.Sub(c.lastSweep) >= replaySweepEvery {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.nextSweep = max(minReplaySweep, 2*len(c.seen))
		c.lastSweep = now
	}
	if len(c.seen) >= maxReplayEntries {
		return errors.New("too many assertions in flight; try again later")
	}
	c.seen[key] = until
	return nil
}
