package mockprovider

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Client authentication methods (token_endpoint_auth_method, OIDC Dynamic
// Client Registration 2 and OIDC Core 9).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthClientSecretJWT   = "client_secret_jwt"
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthNone              = "none"

	// ClientAssertionTypeJWT is the client_assertion_type of a JWT client
	// assertion (RFC 7523 2.2).
	ClientAssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

var authMethods = []string{AuthClientSecretBasic, AuthClientSecretPost, AuthClientSecretJWT, AuthPrivateKeyJWT, AuthNone}

// minHMACSecretBytes is the shortest client secret client_secret_jwt can
// sign with: RFC 7518 3.2 requires an HS256 key of at least 256 bits.
const minHMACSecretBytes = 32

// validateAuthMethod checks token_endpoint_auth_method against the rest of
// the client's registration: the secret, jwks and jwks_uri it needs.
func (c *Client) validateAuthMethod(field string) error {
	m := c.TokenEndpointAuthMethod
	switch {
	case m == "":
	case !slices.Contains(authMethods, m):
		return fieldErr(field+".token_endpoint_auth_method", "%q is not one of %v", m, authMethods)
	case c.Public && m != AuthNone:
		return fieldErr(field+".token_endpoint_auth_method", "a public client authenticates with none, not %s", m)
	case !c.Public && m == AuthNone:
		return fieldErr(field+".token_endpoint_auth_method", "none is for public clients (set public: true)")
	}
	switch {
	case m == AuthPrivateKeyJWT && c.Secret != "":
		return fieldErr(field+".secret", "a private_key_jwt client authenticates with its keys and has no secret")
	case !c.Public && m != AuthPrivateKeyJWT && c.Secret == "":
		return fieldErr(field+".secret", "required for a confidential client (or set public: true, or token_endpoint_auth_method: private_key_jwt with jwks or jwks_uri)")
	case m == AuthClientSecretJWT && len(c.Secret) < minHMACSecretBytes:
		return fieldErr(field+".secret", "client_secret_jwt signs with HS256, whose key must be at least %d bytes (RFC 7518 3.2), got %d", minHMACSecretBytes, len(c.Secret))
	}
	hasKeys := c.JWKS != nil || c.JWKSURI != ""
	switch {
	case m == AuthPrivateKeyJWT && !hasKeys:
		return fieldErr(field+".jwks", "private_key_jwt needs the client's public keys: jwks or jwks_uri")
	case c.JWKS != nil && c.JWKSURI != "":
		return fieldErr(field+".jwks_uri", "give jwks or jwks_uri, not both (RFC 7591 2)")
	case m != AuthPrivateKeyJWT && hasKeys:
		return fieldErr(field+".jwks", "only private_key_jwt clients use keys (set token_endpoint_auth_method: private_key_jwt)")
	}
	if c.JWKS != nil {
		return validateJWKS(field+".jwks", c.JWKS)
	}
	if c.JWKSURI != "" {
		return validateJWKSURI(field+".jwks_uri", c.JWKSURI)
	}
	return nil
}

// prepareClient builds what a validated client needs at run time: the keys
// that verify its assertions.
func prepareClient(c *Client) {
	switch c.TokenEndpointAuthMethod {
	case AuthPrivateKeyJWT:
		c.assertionKeys = newJWKSKeySource(c.JWKS, c.JWKSURI)
	case AuthClientSecretJWT:
		c.assertionKeys = newSecretKeySource(c.Secret)
	}
}

// usesAssertion reports whether the client authenticates with a JWT.
func (c *Client) usesAssertion() bool { return c.assertionKeys != nil }

// authMethodAllows reports whether a request's secret-based method (basic
// or post) is the client's registered one; an empty registration allows both.
func (c *Client) authMethodAllows(method string) bool {
	return c.TokenEndpointAuthMethod == "" || c.TokenEndpointAuthMethod == method
}

// authenticateClient authenticates the client of a token-endpoint style
// request (token, introspection, revocation, and any endpoint where RFC 6749
// 2.3 client authentication applies, such as PAR): client_secret_basic,
// client_secret_post, none (public clients), and client assertions
// (client_secret_jwt and private_key_jwt, RFC 7523 2.2, OIDC Core 9), each
// only for a client registered with that token_endpoint_auth_method. A
// client assertion's aud may be the issuer, the token endpoint or the URL of
// the endpoint the request is sent to (RFC 9126 2 adds the PAR endpoint).
// Every failure is invalid_client, answered 401 with WWW-Authenticate, except
// a request mixing secret methods (invalid_request, RFC 6749 5.2).
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, *oauthError) {
	c, oerr := p.authenticate(r, form)
	if oerr == nil {
		oerr = p.profileRefusesAuth(c)
	}
	if oerr != nil {
		oerr.clientID = clientHint(r, form)
		return nil, oerr
	}
	return c, nil
}

// readClientRequest starts the JSON endpoints a client calls with its
// credentials (device authorization, revocation): a POST form, then client
// authentication. When it returns false it has answered the request.
func (p *Provider) readClientRequest(w http.ResponseWriter, r *http.Request) (url.Values, *Client, bool) {
	form, ok := p.readPostForm(w, r)
	if !ok {
		return nil, nil, false
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return nil, nil, false
	}
	return form, client, true
}

// clientHint is the client a request names, before authentication: the
// Basic user, client_id, or a client assertion's unverified sub.
func clientHint(r *http.Request, form url.Values) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	if form == nil {
		return ""
	}
	if id := form.Get("client_id"); id != "" {
		return id
	}
	if a := form.Get("client_assertion"); a != "" {
		return unverifiedSubject(a)
	}
	return ""
}

// unverifiedSubject is the sub of a JWT whose signature is not checked yet,
// to find the client whose keys will check it; "" when it is no JWT.
func unverifiedSubject(raw string) string {
	tok, err := jwt.ParseSigned(raw, slices.Concat(asymmetricAssertionAlgs, hmacAssertionAlgs))
	if err != nil {
		return ""
	}
	var claims jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&claims) != nil {
		return ""
	}
	return claims.Subject
}

// authenticateAssertion is client authentication with a JWT (RFC 7521 4.2,
// RFC 7523 2.2 and 3, OIDC Core 9): client_assertion_type names a JWT, the
// client is client_id or the assertion's sub, and the assertion is verified
// with the client's keys (private_key_jwt) or secret (client_secret_jwt).
// RFC 7521 4.2.1: every refusal, a second authentication method included,
// is invalid_client.
func (p *Provider) authenticateAssertion(r *http.Request, form url.Values, otherMethod bool) (*Client, *oauthError) {
	if otherMethod {
		return nil, invalidClient("more than one client authentication method was used (RFC 7521 4.2.1)")
	}
	if t := form.Get("client_assertion_type"); t != ClientAssertionTypeJWT {
		return nil, invalidClient(fmt.Sprintf("client_assertion_type must be %s", ClientAssertionTypeJWT))
	}
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return nil, invalidClient("client_assertion is required with client_assertion_type")
	}
	id := form.Get("client_id")
	sub := unverifiedSubject(assertion)
	if id == "" {
		id = sub
	}
	if id == "" {
		return nil, invalidClient("the client assertion is not a signed JWT naming its client in sub")
	}
	if sub != "" && sub != id {
		return nil, invalidClient("the client assertion's sub is not the client_id (RFC 7523 3)")
	}
	c := p.client(id)
	if c == nil {
		return nil, invalidClient("client authentication failed")
	}
	if !c.usesAssertion() {
		return nil, invalidClient("the client is not registered for client_secret_jwt or private_key_jwt")
	}
	if oerr := p.verifyClientAssertion(r, c, assertion); oerr != nil {
		return nil, oerr
	}
	return c, nil
}

// verifyClientAssertion checks a client assertion (the client_assertion
// parameter, RFC 7523 2.2) for client c, registered for private_key_jwt or
// client_secret_jwt, in request r: the JWT is signed with the client's keys
// (or HMAC with its secret), iss and sub are the client_id, aud names this
// provider (the issuer, the token endpoint, or r's own endpoint URL, so that
// PAR and introspection accept their URL as RFC 9126 2 asks), exp is present,
// not passed and within limits.max_assertion_lifetime, and jti has not been
// used before: the jti stays in a replay cache until the assertion expires by
// the provider's clock. A refusal is invalid_client (401), its description
// saying which rule failed. authenticateClient calls it; another endpoint
// that has found its client some other way can too.
func (p *Provider) verifyClientAssertion(r *http.Request, c *Client, assertion string) *oauthError {
	rules := assertionRules{
		keys:        c.assertionKeys,
		issuer:      c.ID,
		subject:     c.ID,
		audiences:   p.assertionAudiences(r),
		requireJTI:  true,
		replayScope: "client_assertion",
		client:      c,
	}
	if _, err := p.verifyAssertion(r.Context(), assertion, rules, p.now()); err != nil {
		oerr := invalidClient(err.Error())
		oerr.clientID = c.ID
		return oerr
	}
	return nil
}

// assertionAudiences are the aud values that identify this provider in an
// assertion: the issuer (RFC 7523 3 "identifies the authorization server";
// FAPI 2.0 Security Profile 5.3.2.1 requires accepting it), the token
// endpoint (OIDC Core 9: SHOULD be the token endpoint's URL) and the URL of
// the endpoint the request was sent to.
func (p *Provider) assertionAudiences(r *http.Request) []string {
	auds := []string{p.issuer, p.issuer + "/token"}
	if r != nil && r.URL.Path != "/token" && r.URL.Path != "" {
		auds = append(auds, p.issuer+r.URL.Path)
	}
	return auds
}

func (p *Provider) authenticate(r *http.Request, form url.Values) (*Client, *oauthError) {
	authHeaders, hasHeader := r.Header["Authorization"]
	if len(authHeaders) > 1 {
		// Which one would count is a guess a proxy may make differently.
		return nil, invalidRequest("the Authorization header is sent more than once")
	}
	bodySecret, hasBodySecret := form["client_secret"]
	// An empty client_secret is the same as none (some clients send one).
	hasBodySecret = hasBodySecret && bodySecret[0] != ""
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	if hasAssertion || hasAssertionType {
		return p.authenticateAssertion(r, form, hasHeader || hasBodySecret)
	}
	if hasHeader {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, invalidClient("the Authorization header is not HTTP Basic client authentication")
		}
		if hasBodySecret {
			return nil, invalidRequest("more than one client authentication method was used")
		}
		// RFC 6749 2.3.1: the id and secret are form-encoded inside Basic.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, invalidClient("malformed client credentials in the Authorization header")
		}
		if formID := form.Get("client_id"); formID != "" && formID != id {
			return nil, invalidClient("client_id in the body differs from the authenticated client")
		}
		c := p.client(id)
		if c != nil && c.Public && secret == "" {
			return c, nil // a public client naming itself in Basic with no password
		}
		if c == nil || c.Public || !secretEqual(c.Secret, secret) {
			return nil, invalidClient("client authentication failed")
		}
		if !c.authMethodAllows(AuthClientSecretBasic) {
			return nil, invalidClient("the client is registered for " + c.TokenEndpointAuthMethod + ", not client_secret_basic")
		}
		return c, nil
	}
	id := form.Get("client_id")
	if id == "" {
		return nil, invalidClient("client authentication is required")
	}
	c := p.client(id)
	if c == nil {
		return nil, invalidClient("client authentication failed")
	}
	if c.Public {
		if hasBodySecret {
			return nil, invalidClient("a public client has no secret")
		}
		return c, nil
	}
	if !hasBodySecret {
		if form.Get("grant_type") == GrantRefreshToken && p.defect(c, dRefreshNoClientAuth) {
			return c, nil
		}
		if c.usesAssertion() {
			return nil, invalidClient("the client authenticates with " + c.TokenEndpointAuthMethod + ": client_assertion is required")
		}
		return nil, invalidClient("client authentication is required for a confidential client")
	}
	if !secretEqual(c.Secret, bodySecret[0]) && !p.defect(c, dClientSecretUnchecked) {
		return nil, invalidClient("client authentication failed")
	}
	if !c.authMethodAllows(AuthClientSecretPost) {
		return nil, invalidClient("the client is registered for " + c.TokenEndpointAuthMethod + ", not client_secret_post")
	}
	return c, nil
}

// allows reports whether client c may use grant (a Grant* name), which its
// registration decides unless a defect lifts the restriction.
func (p *Provider) allows(c *Client, grant string) bool {
	if !p.profileAllowsGrant(grant) {
		return false
	}
	if c.Allows(grant) {
		return true
	}
	switch grant {
	case GrantPassword:
		return !c.Public && (p.defect(c, dPasswordAlwaysOn) || p.defect(c, dGrantNotRestrictedHidden))
	case GrantImplicit:
		return p.defect(c, dImplicitAlwaysOn)
	default:
		return p.defect(c, dGrantNotRestricted) || !c.Public && p.defect(c, dGrantNotRestrictedHidden)
	}
}

func secretEqual(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
