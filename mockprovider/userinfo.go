package mockprovider

import (
	"net/http"
	"strings"

	"github.com/grantbench/grantbench/oauth"
)

// handleUserinfo is OIDC Core 5.3 with RFC 6750 bearer errors: 401 and
// WWW-Authenticate for a missing, invalid, expired or revoked token.
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		p.methodNotAllowed(w, "GET, POST")
		return
	}
	if len(r.Header["Authorization"]) > 1 {
		p.bearerError(w, http.StatusBadRequest, oauth.InvalidRequest, "the Authorization header is sent more than once")
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		p.bearerError(w, http.StatusUnauthorized, "", "")
		return
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, oauth.TokenTypeBearer) || token == "" {
		p.bearerError(w, http.StatusUnauthorized, oauth.InvalidRequest, "use the Bearer scheme")
		return
	}
	info := p.lookupToken(token, p.now())
	if !info.isAccess || !info.active {
		p.bearerError(w, http.StatusUnauthorized, oauth.InvalidToken, "the access token is invalid, expired or revoked")
		return
	}
	if info.client != nil {
		p.rpSeeUserinfo(info.client.ID)
	}
	if info.grant == nil || info.grant.user == nil || !p.scopeHas(info.scopes, oauth.ScopeOpenID) {
		p.bearerError(w, http.StatusForbidden, oauth.InsufficientScope, "userinfo needs a user's token with the openid scope")
		return
	}
	scopes, _ := parseScope(info.scope)
	o := newJSONObject(256)
	o.str("sub", p.rpUserinfoSubject(info.grant.clientID, info.grant.subject))
	if err := appendUserClaims(o, info.grant.user, scopes); err != nil {
		p.log.Error("userinfo claims", "err", err)
		p.bearerError(w, http.StatusInternalServerError, oauth.ServerError, "")
		return
	}
	writeJSONBytes(w, http.StatusOK, o.bytes())
}

// bearerError answers per RFC 6750 3: the error goes in WWW-Authenticate
// (and a JSON body for clients that read one).
func (p *Provider) bearerError(w http.ResponseWriter, status int, code oauth.ErrorCode, description string) {
	challenge := `Bearer realm="grantbench"`
	if code != "" {
		challenge += `, error="` + code.String() + `"`
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
