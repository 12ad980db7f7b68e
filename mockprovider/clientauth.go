package mockprovider

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

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
	authHeaders, hasHeader := r.Header["Authorization"]
	if len(authHeaders) > 1 {
		// Which one would count is a guess a proxy may make differently.
		return nil, invalidRequest("the Authorization header is sent more than once")
	}
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
