package mockprovider

import "net/http"

// handleRevoke is RFC 7009. Unknown tokens answer 200 (2.2). Revoking a
// refresh token revokes its whole grant, access tokens included (2.1). A
// token of another client is left alone, still with 200, so the endpoint
// tells nobody which tokens exist.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, client, ok := p.readClientRequest(w, r)
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		p.writeJSONError(w, invalidRequest("token is required"))
		return
	}
	known := p.revoke(token, client)
	if !known && p.defect(client, dRevokeUnknownError) {
		p.writeJSONError(w, invalidRequest("unknown token"))
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// revoke withdraws a token of client; other clients' tokens are untouched.
// It reports whether the token was known at all.
func (p *Provider) revoke(token string, client *Client) bool {
	if p.defect(client, dRevokeNoop) {
		return true
	}
	anyClient := p.defect(client, dRevokeNotBound)
	k := keyOf(token)
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if a, ok := p.store.access.get(k); ok {
		if p.clientAt(a.client) == client || anyClient {
			a.revoked = true
			p.store.access.set(k, a)
		}
		return true
	}
	if r, ok := p.store.refresh.get(k); ok {
		if r.grant.clientID == client.ID || anyClient {
			r.revoked = true
			if p.defect(client, dRevokeKeepsAccessTokens) {
				r.grant.refreshRevoked = true
			} else {
				r.grant.revoked = true // RFC 7009 2.1: its access tokens go too
			}
		}
		return true
	}
	return false
}
