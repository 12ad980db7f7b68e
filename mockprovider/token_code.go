package mockprovider

import (
	"net/url"
	"time"
)

// grantAuthorizationCode is RFC 6749 4.1.3 with PKCE (RFC 7636 4.6). A code
// is consumed by its first redemption; a second one revokes everything the
// first issued (RFC 6749 4.1.2).
func (p *Provider) grantAuthorizationCode(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantAuthorizationCode) {
		return tokenResponse{}, unauthorizedClient("this client may not use authorization_code")
	}
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, invalidRequest("code is required")
	}
	reuse := p.defect(client, dCodeReuse) || p.rpHas(client, RPCodeReusable)
	p.store.mu.Lock()
	rec, ok := p.store.codes.get(keyOf(code))
	wasUsed := ok && rec.used && !reuse
	if wasUsed && !p.defect(client, dCodeReuseKeepsTokens) {
		rec.grant.revoked = true
	}
	if ok && !p.defect(client, dCodeRace) {
		rec.used = true // checked and set under one lock: one winner per code
	}
	p.store.mu.Unlock()
	if ok && p.defect(client, dCodeRace) {
		p.markUsedLate(&rec.used)
	}
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the authorization code is invalid")
	case wasUsed:
		p.log.Warn("authorization code reused; tokens of its first exchange revoked", "client_id", client.ID)
		return tokenResponse{}, invalidGrant("the authorization code was already used")
	case !now.Before(rec.exp):
		return tokenResponse{}, invalidGrant("the authorization code has expired")
	case rec.grant.clientID != client.ID && !p.defect(client, dCodeNotBoundToClient):
		return tokenResponse{}, invalidGrant("the authorization code was issued to another client")
	case form.Get("redirect_uri") != rec.redirectURI && !p.defect(client, dTokenRedirectURIUnchecked):
		return tokenResponse{}, invalidGrant("redirect_uri does not match the authorization request")
	}
	if oerr := p.checkPKCE(client, rec, form); oerr != nil {
		return tokenResponse{}, oerr
	}
	g := rec.grant
	return p.issueForUser(client, g, code, now)
}
