package mockprovider

import (
	"net/http"
	"strings"
	"time"
)

// lookupToken finds an access or refresh token record by the token's value.
func (p *Provider) lookupToken(token string) (*accessRecord, *refreshRecord) {
	k := keyOf(token)
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if a, ok := p.store.access.get(k); ok {
		return a, nil
	}
	if rt, ok := p.store.refresh.get(k); ok {
		return nil, rt
	}
	return nil, nil
}

// handleIntrospect is RFC 7662. The caller authenticates as a confidential
// client (2.1); a token that is unknown, expired or revoked gets exactly
// {"active":false} (2.2).
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.methodNotAllowed(w, http.MethodPost)
		return
	}
	form, oerr := p.readForm(r)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr == nil && client.Public {
		oerr = invalidClient("introspection needs an authenticated (confidential) client")
	}
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeJSONError(w, invalidRequest("token is required"))
		return
	}
	now := p.now()
	access, refresh := p.lookupToken(token)
	p.store.mu.Lock()
	var o *jsonObject
	switch {
	case access != nil && access.active(now):
		o = p.introspection(access.grant, access.scope, "Bearer", access.jti, access.issuedAt, access.exp)
	case refresh != nil && refresh.active(now):
		o = p.introspection(refresh.grant, refresh.scope, "refresh_token", "", refresh.issuedAt, refresh.exp)
	}
	p.store.mu.Unlock()
	if o == nil {
		writeJSONBytes(w, http.StatusOK, []byte(`{"active":false}`))
		return
	}
	writeJSONBytes(w, http.StatusOK, o.bytes())
}

func (p *Provider) introspection(g *grant, scope, tokenType, jti string, iat, exp time.Time) *jsonObject {
	o := newJSONObject(384)
	o.bool("active", true)
	o.strIf("scope", scope)
	o.str("client_id", g.clientID)
	if g.user != nil {
		o.str("username", g.user.Username)
	}
	o.str("token_type", tokenType)
	o.int("exp", exp.Unix())
	o.int("iat", iat.Unix())
	o.str("sub", g.subject)
	if p.cfg.AccessTokenAudience != "" {
		o.str("aud", p.cfg.AccessTokenAudience)
	} else {
		o.str("aud", g.clientID)
	}
	o.str("iss", p.issuer)
	o.strIf("jti", jti)
	return o
}

// handleRevoke is RFC 7009. Unknown tokens answer 200 (2.2). Revoking a
// refresh token revokes its whole grant, access tokens included (2.1). A
// token of another client is left alone, still with 200, so the endpoint
// tells nobody which tokens exist.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		p.methodNotAllowed(w, http.MethodPost)
		return
	}
	form, oerr := p.readForm(r)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeJSONError(w, invalidRequest("token is required"))
		return
	}
	access, refresh := p.lookupToken(token)
	p.store.mu.Lock()
	switch {
	case access != nil && access.grant.clientID == client.ID:
		access.revoked = true
	case refresh != nil && refresh.grant.clientID == client.ID:
		refresh.revoked = true
		refresh.grant.revoked = true
	}
	p.store.mu.Unlock()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// handleUserinfo is OIDC Core 5.3 with RFC 6750 bearer errors: 401 and
// WWW-Authenticate for a missing, invalid, expired or revoked token.
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		p.methodNotAllowed(w, "GET, POST")
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		p.bearerError(w, http.StatusUnauthorized, "", "")
		return
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		p.bearerError(w, http.StatusUnauthorized, errInvalidRequest, "use the Bearer scheme")
		return
	}
	now := p.now()
	access, _ := p.lookupToken(token)
	p.store.mu.Lock()
	active := access != nil && access.active(now)
	p.store.mu.Unlock()
	if !active {
		p.bearerError(w, http.StatusUnauthorized, errInvalidToken, "the access token is invalid, expired or revoked")
		return
	}
	scopes, _ := parseScope(access.scope)
	if access.grant.user == nil || !hasScope(scopes, "openid") {
		p.bearerError(w, http.StatusForbidden, errInsufficientScope, "userinfo needs a user's token with the openid scope")
		return
	}
	o := newJSONObject(256)
	o.str("sub", access.grant.subject)
	if err := appendUserClaims(o, access.grant.user, scopes); err != nil {
		p.log.Error("userinfo claims", "err", err)
		p.bearerError(w, http.StatusInternalServerError, errServerError, "")
		return
	}
	writeJSONBytes(w, http.StatusOK, o.bytes())
}

// bearerError answers per RFC 6750 3: the error goes in WWW-Authenticate
// (and a JSON body for clients that read one).
func (p *Provider) bearerError(w http.ResponseWriter, status int, code, description string) {
	challenge := `Bearer realm="grantbench"`
	if code != "" {
		challenge += `, error="` + code + `"`
		if description != "" {
			challenge += `, error_description="` + description + `"`
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	if code == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	p.writeJSONError(w, &oauthError{code: code, description: description, status: status})
}
