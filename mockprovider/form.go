package mockprovider

import (
	"crypto/subtle"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// readPostForm is the start of the POST-only JSON endpoints (device
// authorization, introspection, revocation): the method, then readForm. When
// it returns false it has already answered.
func (p *Provider) readPostForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		p.methodNotAllowed(w, http.MethodPost)
		return nil, false
	}
	form, oerr := p.readForm(r)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return nil, false
	}
	return form, true
}

// readForm reads a form-encoded POST body for the token, device, introspection
// and revocation endpoints: parameters only in the body (RFC 6749 3.2 keeps
// credentials out of URLs), the body capped, and no parameter repeated
// (RFC 6749 3.1, 3.2: "parameters MUST NOT be included more than once").
func (p *Provider) readForm(r *http.Request) (url.Values, *oauthError) {
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("parameters must be sent in the request body, not the URL query")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	return readFormBody(r, p.cfg.Limits.MaxBodyBytes)
}

func readFormBody(r *http.Request, maxBytes int64) (url.Values, *oauthError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, invalidRequest("could not read the request body")
	}
	if int64(len(body)) > maxBytes {
		return nil, invalidRequest(fmt.Sprintf("the request body is larger than %d bytes", maxBytes))
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not valid form encoding")
	}
	if name, dup := repeatedParam(values); dup {
		return nil, invalidRequest(fmt.Sprintf("parameter %q is repeated", name))
	}
	return values, nil
}

// repeatedParam finds a parameter sent more than once.
func repeatedParam(values url.Values) (string, bool) {
	for name, v := range values {
		if len(v) > 1 {
			return truncate(name, 40), true
		}
	}
	return "", false
}

// truncate shortens attacker-chosen text before it is echoed in a description.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// authenticateClient applies client_secret_basic, client_secret_post or none
// (public clients) to a token-endpoint style request (RFC 6749 2.3). Every
// failure is invalid_client, answered 401 with WWW-Authenticate.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*Client, *oauthError) {
	c, oerr := p.authenticate(r, form)
	if oerr != nil {
		oerr.clientID = clientHint(r, form)
	}
	return c, oerr
}

// clientHint is the client a request names, before authentication.
func clientHint(r *http.Request, form url.Values) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	if form != nil {
		return form.Get("client_id")
	}
	return ""
}

func (p *Provider) authenticate(r *http.Request, form url.Values) (*Client, *oauthError) {
	_, hasHeader := r.Header["Authorization"]
	bodySecret, hasBodySecret := form["client_secret"]
	// An empty client_secret is the same as none (some clients send one).
	hasBodySecret = hasBodySecret && bodySecret[0] != ""
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
		c := p.clients[id]
		if c != nil && c.Public && secret == "" {
			return c, nil // a public client naming itself in Basic with no password
		}
		if c == nil || c.Public || !secretEqual(c.Secret, secret) {
			return nil, invalidClient("client authentication failed")
		}
		return c, nil
	}
	id := form.Get("client_id")
	if id == "" {
		return nil, invalidClient("client authentication is required")
	}
	c := p.clients[id]
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
		return nil, invalidClient("client authentication is required for a confidential client")
	}
	if !secretEqual(c.Secret, bodySecret[0]) && !p.defect(c, dClientSecretUnchecked) {
		return nil, invalidClient("client authentication failed")
	}
	return c, nil
}

// allows reports whether client c may use grant (a Grant* name), which its
// registration decides unless a defect lifts the restriction.
func (p *Provider) allows(c *Client, grant string) bool {
	if c.Allows(grant) {
		return true
	}
	switch grant {
	case GrantPassword:
		return !c.Public && p.defect(c, dPasswordAlwaysOn)
	case GrantImplicit:
		return p.defect(c, dImplicitAlwaysOn)
	default:
		return p.defect(c, dGrantNotRestricted)
	}
}

func secretEqual(want, got string) bool {
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// parseScope splits a scope parameter (RFC 6749 3.3) into distinct tokens,
// in order.
func parseScope(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if !validScopeToken(tok) {
			return nil, false
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, true
}

// resolveTokenScope is resolveScope for token requests, where the
// scope_unchecked defect takes any scope (unknown ones are dropped).
func (p *Provider) resolveTokenScope(c *Client, requested string) ([]string, *oauthError) {
	if p.defect(c, dScopeUnchecked) {
		scopes, _ := parseScope(requested)
		return scopes, nil
	}
	return p.resolveScope(c, requested)
}

// resolveScope checks a requested scope against what the client may ask
// for; an empty request gets the client's default scopes.
func (p *Provider) resolveScope(c *Client, requested string) ([]string, *oauthError) {
	scopes, ok := parseScope(requested)
	if !ok {
		return nil, invalidScope("the scope parameter is malformed")
	}
	if len(scopes) == 0 {
		return c.DefaultScopes, nil
	}
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return nil, invalidScope(fmt.Sprintf("scope %q is not allowed for this client", truncate(s, 40)))
		}
	}
	return scopes, nil
}

// subsetOf reports whether every scope in a is in b.
func subsetOf(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
