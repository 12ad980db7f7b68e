package mockprovider

import (
	"net/url"
	"time"
)

// grantClientCredentials is RFC 6749 4.4: confidential clients only, no
// refresh token (4.4.3).
func (p *Provider) grantClientCredentials(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if client.Public && p.defect(client, dGrantNotRestrictedHidden) {
		return tokenResponse{}, invalidClient("a public client cannot authenticate")
	}
	if !p.allows(client, GrantClientCredentials) {
		return tokenResponse{}, unauthorizedClient("this client may not use client_credentials")
	}
	scopes, grantedScope, oerr := p.resolveTokenScope(client, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	req := issueRequest{client: client, accessScopes: p.scopeSetOf(scopes), reportedScope: grantedScope}
	if p.defect(client, dCCRefreshToken) {
		req.grant = &grant{clientID: client.ID, subject: client.ID, scopes: scopes}
		req.refresh, req.refreshScope = true, joinScopes(scopes)
	}
	resp, oerr := p.issueOrFail(req, now)
	if p.defect(client, dScopeChangeUnreported) {
		resp.scope = "" // RFC 6749 5.1 requires it when the grant differs from the request
	}
	return resp, oerr
}
