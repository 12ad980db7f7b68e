package mockprovider

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// tokenInfo is what introspection, revocation and userinfo need to know of
// a presented token, read under the store lock.
type tokenInfo struct {
	isAccess, isRefresh bool
	active              bool
	client              *Client
	grant               *grant // nil for client_credentials
	scope               string
	scopes              scopeSet
	jti                 string
	issuedAt, exp       time.Time
}

// lookupToken finds an access or refresh token by its value.
func (p *Provider) lookupToken(token string, now time.Time) tokenInfo {
	k := keyOf(token)
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if a, ok := p.store.access.get(k); ok {
		g, _ := p.familyOf(a)
		return tokenInfo{isAccess: true, active: p.accessActive(a, now), client: p.clientAt(a.client), grant: g,
			scope: p.scopeString(a.scopes), scopes: a.scopes, jti: base64.RawURLEncoding.EncodeToString(a.jti[:]),
			issuedAt: time.Unix(0, a.issuedAt), exp: time.Unix(0, a.exp)}
	}
	if r, ok := p.store.refresh.get(k); ok {
		return tokenInfo{isRefresh: true, active: r.active(now), client: p.client(r.grant.clientID), grant: r.grant,
			scope: r.scope, issuedAt: r.issuedAt, exp: r.exp}
	}
	return tokenInfo{}
}

// handleIntrospect is RFC 7662. The caller authenticates as a confidential
// client (2.1); a token that is unknown, expired or revoked gets exactly
// {"active":false} (2.2).
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, ok := p.readPostForm(w, r)
	if !ok {
		return
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr == nil && client.Public {
		oerr = invalidClient("introspection needs an authenticated (confidential) client")
		oerr.clientID = client.ID
	}
	if oerr != nil && !p.defectFor(oerr.clientID, dIntrospectOpen) {
		p.writeJSONError(w, p.introspectionRefusal(r, oerr))
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeJSONError(w, invalidRequest("token is required"))
		return
	}
	info := p.lookupToken(token, p.now())
	if !info.active {
		if p.defectFor(clientHint(r, form), dIntrospectLeaks) {
			writeJSONBytes(w, http.StatusOK, p.leakyInactive(info))
			return
		}
		writeJSONBytes(w, http.StatusOK, []byte(`{"active":false}`))
		return
	}
	writeJSONBytes(w, http.StatusOK, p.introspection(info).bytes())
}

// introspectionRefusal is the error for a caller who did not authenticate:
// as authenticateClient says, or, for one who sent no credentials at all, as
// Behaviour.UnauthenticatedIntrospection chooses.
func (p *Provider) introspectionRefusal(r *http.Request, oerr *oauthError) *oauthError {
	if _, hasHeader := r.Header["Authorization"]; hasHeader || oerr.clientID != "" {
		return oerr
	}
	switch p.cfg.Behaviour.UnauthenticatedIntrospection {
	case IntrospectionRefuse400:
		return &oauthError{code: oauth.InvalidClient, description: oerr.description, status: http.StatusBadRequest}
	case IntrospectionRefuse400InvalidRequest:
		return invalidRequest("no client authentication was sent")
	}
	return oerr
}

// leakyInactive is the introspect_leaks defect's answer for an inactive
// token: what it knows of the token besides active:false.
func (p *Provider) leakyInactive(t tokenInfo) []byte {
	if t.client == nil {
		return []byte(`{"active":false,"token_type":"unknown"}`)
	}
	out := p.introspection(t).bytes()
	return append([]byte(`{"active":false`), out[len(`{"active":true`):]...)
}

func (p *Provider) introspection(t tokenInfo) *jsonObject {
	o := newJSONObject(384)
	o.bool("active", true)
	o.strIf("scope", t.scope)
	o.str("client_id", t.client.ID)
	subject := t.client.ID
	if t.grant != nil {
		subject = t.grant.subject
		if t.grant.user != nil {
			o.str("username", t.grant.user.Username)
		}
	}
	if t.isAccess {
		o.str("token_type", oauth.TokenTypeBearer)
	} else {
		o.str("token_type", "refresh_token")
	}
	o.int("exp", t.exp.Unix())
	o.int("iat", t.issuedAt.Unix())
	o.str("sub", subject)
	if p.cfg.AccessTokenAudience != "" {
		o.str("aud", p.cfg.AccessTokenAudience)
	} else {
		o.str("aud", t.client.ID)
	}
	o.str("iss", p.issuer)
	o.strIf("jti", t.jti)
	return o
}
