package mockprovider

// The JWT bearer authorization grant (RFC 7523 2.1, 3; RFC 7521 4.1): a
// client trades a JWT signed by an issuer the provider trusts (the
// configuration's trusted_issuers) for an access token whose subject is the
// JWT's sub. assertion.go verifies the JWT; this file finds its issuer,
// applies the issuer's policy (subjects, audiences, clients, scopes) and
// issues the token.

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// TrustedIssuer is an issuer whose JWT assertions the JWT bearer grant
// accepts: its keys, and what its assertions may obtain.
type TrustedIssuer struct {
	// Issuer is the iss its assertions carry (RFC 7523 3, item 1).
	Issuer string `yaml:"issuer"`
	// JWKS holds its public keys inline (one of jwks and jwks_uri).
	JWKS *JWKS `yaml:"jwks"`
	// JWKSURI is where the provider fetches its public keys.
	JWKSURI string `yaml:"jwks_uri"`
	// Subjects are the sub values it may assert; empty: the subject of any
	// configured user; "*" among them: any subject.
	Subjects []string `yaml:"subjects"`
	// Audience lists aud values accepted besides the provider's issuer and
	// token endpoint URL (RFC 7523 3, item 3 lets the server decide what
	// identifies it).
	Audience []string `yaml:"audience"`
	// Clients may present its assertions; empty: every client allowed the
	// jwt_bearer grant.
	Clients []string `yaml:"clients"`
	// Scopes bound what its assertions obtain, within the client's scopes;
	// empty: the client's scopes.
	Scopes []string `yaml:"scopes"`
	// RequireJTI refuses its assertions without jti (RFC 7523 3, item 7
	// makes jti optional; the replay cache can only refuse what it can name).
	RequireJTI bool `yaml:"require_jti"`

	// keys verify its assertions; set by New.
	keys *keySource
}

// anySubject in TrustedIssuer.Subjects lets an issuer assert any subject.
const anySubject = "*"

// validateTrustedIssuers checks the trusted_issuers section against the
// rest of the configuration: the scopes and the clients it names.
func (c *Config) validateTrustedIssuers(knownScopes map[string]bool) error {
	issuers := map[string]bool{}
	for i := range c.TrustedIssuers {
		ti := &c.TrustedIssuers[i]
		field := fmt.Sprintf("trusted_issuers[%d]", i)
		switch {
		case ti.Issuer == "":
			return fieldErr(field+".issuer", "required")
		case issuers[ti.Issuer]:
			return fieldErr(field+".issuer", "%q listed twice", ti.Issuer)
		case ti.JWKS == nil && ti.JWKSURI == "":
			return fieldErr(field+".jwks", "the issuer's public keys are required: jwks or jwks_uri")
		case ti.JWKS != nil && ti.JWKSURI != "":
			return fieldErr(field+".jwks_uri", "give jwks or jwks_uri, not both")
		}
		issuers[ti.Issuer] = true
		if ti.JWKS != nil {
			if err := validateJWKS(field+".jwks", ti.JWKS); err != nil {
				return err
			}
		} else if err := validateJWKSURI(field+".jwks_uri", ti.JWKSURI); err != nil {
			return err
		}
		for j, s := range ti.Subjects {
			if s == "" {
				return fieldErr(fmt.Sprintf("%s.subjects[%d]", field, j), "may not be empty")
			}
		}
		for j, a := range ti.Audience {
			if a == "" {
				return fieldErr(fmt.Sprintf("%s.audience[%d]", field, j), "may not be empty")
			}
		}
		for j, id := range ti.Clients {
			if !slices.ContainsFunc(c.Clients, func(cl Client) bool { return cl.ID == id }) {
				return fieldErr(fmt.Sprintf("%s.clients[%d]", field, j), "%q is not a configured client", id)
			}
		}
		for j, s := range ti.Scopes {
			if !knownScopes[s] {
				return fieldErr(fmt.Sprintf("%s.scopes[%d]", field, j), "%q is not in the provider's scopes", s)
			}
		}
	}
	return nil
}

// prepareTrustedIssuers builds the key sources of the trusted issuers, by
// issuer.
func prepareTrustedIssuers(list []TrustedIssuer) map[string]*TrustedIssuer {
	out := make(map[string]*TrustedIssuer, len(list))
	for i := range list {
		ti := list[i] // a copy: the caller's config stays theirs
		ti.keys = newJWKSKeySource(ti.JWKS, ti.JWKSURI)
		out[ti.Issuer] = &ti
	}
	return out
}

// grantJWTBearer is RFC 7523 2.1: grant_type jwt-bearer with one JWT in
// assertion. Client authentication happened already (RFC 7523 3.1 makes it
// optional; this provider authenticates every confidential client, and a
// public client names itself with client_id). A client not registered for
// the grant is unauthorized_client; a missing or repeated assertion is
// invalid_request (RFC 7521 4.1: "MUST contain a single"); every reason the
// JWT is not acceptable is invalid_grant (RFC 7523 3.1), its description
// saying which rule failed; a scope beyond the issuer's or the client's is
// invalid_scope. The token is an access token for the JWT's sub, with no
// refresh token and no ID token.
func (p *Provider) grantJWTBearer(ctx context.Context, client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantJWTBearer) {
		return tokenResponse{}, unauthorizedClient("this client may not use the jwt-bearer grant")
	}
	switch n := len(form["assertion"]); {
	case n == 0 || form.Get("assertion") == "":
		return tokenResponse{}, invalidRequest("assertion is required (RFC 7523 2.1)")
	case n > 1:
		return tokenResponse{}, invalidRequest("the request must contain a single assertion (RFC 7521 4.1)")
	}
	raw := form.Get("assertion")
	ti := p.trustedIssuers[unverifiedIssuer(raw)]
	if ti == nil {
		return tokenResponse{}, invalidGrant("the assertion is not a signed JWT from a trusted issuer (iss)")
	}
	if len(ti.Clients) > 0 && !slices.Contains(ti.Clients, client.ID) {
		return tokenResponse{}, invalidGrant("this client may not present assertions of this issuer")
	}
	rules := assertionRules{
		keys:        ti.keys,
		issuer:      ti.Issuer,
		audiences:   append([]string{p.issuer, p.issuer + "/token"}, ti.Audience...),
		requireJTI:  ti.RequireJTI,
		replayScope: "jwt_bearer",
		client:      client,
	}
	verified, err := p.verifyAssertion(ctx, raw, rules, now)
	if err != nil {
		return tokenResponse{}, invalidGrant(err.Error())
	}
	sub := verified.claims.Subject
	user := p.userBySubject(sub)
	if !ti.allowsSubject(sub, user) {
		return tokenResponse{}, invalidGrant("the issuer may not assert this subject (sub)")
	}
	scopes, oerr := p.jwtBearerScopes(client, ti, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	g := &grant{clientID: client.ID, user: user, subject: sub, scopes: scopes, authTime: now}
	return p.issueOrFail(issueRequest{client: client, grant: g, accessScopes: p.scopeSetOf(scopes)}, now)
}

// allowsSubject reports whether the issuer may assert sub; user is the
// configured user with that subject, nil when there is none.
func (ti *TrustedIssuer) allowsSubject(sub string, user *User) bool {
	if len(ti.Subjects) == 0 {
		return user != nil
	}
	return slices.Contains(ti.Subjects, sub) || slices.Contains(ti.Subjects, anySubject)
}

// jwtBearerScopes is the granted scope: the requested one (default: the
// client's default scopes the issuer allows), every scope within the
// client's and the issuer's (never wider: an assertion must not obtain more
// than its issuer is trusted with).
func (p *Provider) jwtBearerScopes(client *Client, ti *TrustedIssuer, requested string) ([]string, *oauthError) {
	scopes, oerr := p.resolveScope(client, requested)
	if oerr != nil || len(ti.Scopes) == 0 {
		return scopes, oerr
	}
	if requested == "" {
		var kept []string
		for _, s := range scopes {
			if slices.Contains(ti.Scopes, s) {
				kept = append(kept, s)
			}
		}
		return kept, nil
	}
	for _, s := range scopes {
		if !slices.Contains(ti.Scopes, s) {
			return nil, invalidScope("scope " + truncate(s, 40) + " is wider than the assertion's issuer is trusted with")
		}
	}
	return scopes, nil
}

// userBySubject is the configured user whose sub is sub, nil when none.
func (p *Provider) userBySubject(sub string) *User {
	for _, u := range p.users {
		if u.Subject == sub { // prepareUser defaulted it to the username
			return u
		}
	}
	return nil
}

// unverifiedIssuer is the iss of a JWT whose signature is not checked yet,
// to find the trusted issuer whose keys will check it; "" when it is no JWT.
func unverifiedIssuer(raw string) string {
	tok, err := jwt.ParseSigned(raw, asymmetricAssertionAlgs)
	if err != nil {
		return ""
	}
	var claims jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&claims) != nil {
		return ""
	}
	return claims.Issuer
}
