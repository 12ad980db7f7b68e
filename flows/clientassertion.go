package flows

// private_key_jwt client authentication (RFC 7523 2.2, 3; OIDC Core 9): the
// client signs a short-lived JWT with its own key, on go-jose, for every
// request that authenticates it.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClientAssertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long the flows' client assertions live: enough
// for one request, short enough that a captured one is soon useless.
const assertionLifetime = time.Minute

// loadClientKey reads a client's private key: a JWK (JSON, with kid and alg
// when the provider needs them) or PEM (PKCS #8, EC or PKCS #1).
func loadClientKey(path string) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseClientKey(data)
}

func parseClientKey(data []byte) (*jose.JSONWebKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("a PEM %q block is not a private key", block.Type)
		}
		if err != nil {
			return nil, err
		}
		k := &jose.JSONWebKey{Key: key}
		// A PEM key has no kid: the RFC 7638 thumbprint is what providers
		// that compute one expect.
		pub := k.Public()
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, err
		}
		k.KeyID = base64.RawURLEncoding.EncodeToString(tp)
		return k, validateClientKey(k)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("neither PEM nor a JWK: %w", err)
	}
	return &k, validateClientKey(&k)
}

func validateClientKey(k *jose.JSONWebKey) error {
	if k.IsPublic() {
		return errors.New("is a public key; private_key_jwt signs with the private key")
	}
	if _, err := assertionAlg(k); err != nil {
		return err
	}
	return nil
}

// assertionAlg is the JWS algorithm a client key signs with: the JWK's alg,
// else the usual one for its type (ES256 for P-256, PS256 for RSA, which
// FAPI 2.0 Security Profile 5.4 allows where RS256 it does not).
func assertionAlg(k *jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	if k.Algorithm != "" {
		return jose.SignatureAlgorithm(k.Algorithm), nil
	}
	switch key := k.Key.(type) {
	case *ecdsa.PrivateKey:
		switch key.Curve.Params().BitSize {
		case 256:
			return jose.ES256, nil
		case 384:
			return jose.ES384, nil
		case 521:
			return jose.ES512, nil
		}
	case *rsa.PrivateKey:
		return jose.PS256, nil
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("a %T key cannot sign a client assertion", k.Key)
}

// SignAssertion signs claims with the client's key (RFC 7515 compact JWS,
// typ JWT, the key's kid): the client assertion of private_key_jwt, or any
// JWT a check wants signed as this client.
func (c *Client) SignAssertion(claims map[string]any) (string, error) {
	if c.Key == nil {
		return "", &ProfileError{Field: "key_file", Err: fmt.Errorf("client %s has no key to sign with", c.ClientID)}
	}
	alg, err := assertionAlg(c.Key)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if c.Key.KeyID != "" {
		opts = opts.WithHeader("kid", c.Key.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: c.Key.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("flows: client assertion signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// AssertionClaims are the claims of a well-formed client assertion of c for
// audience at now (RFC 7523 3, OIDC Core 9): iss and sub the client_id, aud,
// iat, exp a minute later, and a fresh jti.
func (c *Client) AssertionClaims(audience string, now time.Time) map[string]any {
	return map[string]any{"iss": c.ClientID, "sub": c.ClientID, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(), "jti": randomToken(16)}
}

// AssertionAudience is the aud of c's client assertions: the profile's
// assertion_audience, else the issuer (RFC 7523 3: it identifies the
// authorization server; FAPI 2.0 Security Profile 5.3.2.1 has servers accept
// it, and RFC 9126 2 sends the same assertion to the PAR endpoint).
func (t *Target) AssertionAudience(c *Client) string {
	if c.AssertionAudience != "" {
		return c.AssertionAudience
	}
	return t.Issuer
}

// providerNow is the time by the provider's clock: its admin clock when the
// profile claims one (the suites move it ahead of ours), else ours.
func (t *Target) providerNow(ctx context.Context) (time.Time, error) {
	if !t.Features.AdminClock {
		return time.Now(), nil
	}
	a, err := t.AdminClient()
	if err != nil {
		return time.Time{}, err
	}
	return a.Now(ctx)
}

// ClientAssertionParams returns the body parameters that authenticate c with
// a fresh client assertion (RFC 7523 2.2): client_id, client_assertion_type
// and client_assertion. Each call signs a new one: a provider refuses a jti
// it has seen.
func (t *Target) ClientAssertionParams(ctx context.Context, c *Client) (url.Values, error) {
	now, err := t.providerNow(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := c.SignAssertion(c.AssertionClaims(t.AssertionAudience(c), now))
	if err != nil {
		return nil, err
	}
	return url.Values{"client_id": {c.ClientID}, "client_assertion_type": {ClientAssertionType}, "client_assertion": {raw}}, nil
}

// withClientAssertion adds a fresh client assertion to params when c
// authenticates with private_key_jwt.
func (t *Target) withClientAssertion(ctx context.Context, c *Client, params url.Values) (url.Values, error) {
	if c.method() != AuthPrivateKeyJWT {
		return params, nil
	}
	auth, err := t.ClientAssertionParams(ctx, c)
	if err != nil {
		return nil, err
	}
	out := url.Values{}
	for k, v := range params {
		out[k] = v
	}
	for k, v := range auth {
		out[k] = v
	}
	return out, nil
}

// keyFileField is the name a key error is reported under.
func keyFileField(field string) string { return strings.TrimSuffix(field, ".") + ".key_file" }

// mockFAPIClientKeyJWK is the private key of the bundled mock's demo-fapi
// client: a public demo value like the mock's demo secrets (the same as
// examples/targets/mock-fapi-key.jwk.json; the mock registers its public
// half).
const mockFAPIClientKeyJWK = `{"use":"sig","kty":"EC","kid":"demo-fapi-1","crv":"P-256","alg":"ES256","x":"t9FiTLDcWHuvbU5C3ngGoo5cQOX7tDQZ1Y2A0GbU-cY","y":"NefxeqN_1cRxG3RnufVyAbMqZHt2bT58pgA9PNR-en0","d":"yadySdk8-_ScP5UZ0BJ4in-7YZM_HXIiqUYR-Ee_osg"}`

// MockFAPIClientKey returns the private key of the bundled mock's demo-fapi
// client (private_key_jwt).
func MockFAPIClientKey() *jose.JSONWebKey {
	k, err := parseClientKey([]byte(mockFAPIClientKeyJWK))
	if err != nil {
		panic("flows: the demo-fapi key does not parse: " + err.Error())
	}
	return k
}
