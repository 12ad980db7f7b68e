package mockprovider

import (
	"net/url"
	"slices"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// grantRefreshToken is RFC 6749 6 with rotation: every use returns a new
// refresh token, and replaying a rotated one revokes the whole family
// (RFC 9700 4.14.2). The scope may narrow, never widen.
func (p *Provider) grantRefreshToken(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantRefreshToken) {
		return tokenResponse{}, unauthorizedClient("this client may not use refresh_token")
	}
	token := form.Get("refresh_token")
	if token == "" {
		return tokenResponse{}, invalidRequest("refresh_token is required")
	}
	requested, validScope := parseScope(form.Get("scope"))
	rotate := !p.defect(client, dNoRefreshRotation)
	race := p.defect(client, dRefreshRace)
	p.store.mu.Lock()
	rec, ok := p.store.refresh.get(keyOf(token))
	bound := ok && (rec.grant.clientID == client.ID || p.defect(client, dRefreshNotBound))
	var replay, usable, widened bool
	var granted []string
	if bound {
		replay = rec.used
		switch {
		case !replay || p.defect(client, dNoReuseDetection):
		case p.defect(client, dFamilyAccessTokensSurvive):
			rec.grant.refreshRevoked = true
		default:
			rec.grant.revoked = true
		}
		granted, _ = parseScope(rec.scope)
		widened = !validScope || !subsetOf(requested, granted)
		if widened && validScope && p.defect(client, dRefreshScopeWidened) {
			widened = !subsetOf(requested, client.Scopes)
		}
		usable = rec.active(now)
		if usable && !widened && rotate && !race {
			rec.used = true // consumed here, under the lock: one winner per token
		}
	}
	p.store.mu.Unlock()
	if bound && usable && !widened && rotate && race {
		p.markUsedLate(&rec.used)
	}
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the refresh token is invalid")
	case !bound:
		return tokenResponse{}, invalidGrant("the refresh token was issued to another client")
	case replay:
		p.log.Warn("rotated refresh token replayed; token family revoked", "client_id", client.ID)
		return tokenResponse{}, invalidGrant("the refresh token was already used; its token family is revoked")
	case !usable:
		return tokenResponse{}, invalidGrant("the refresh token is expired or revoked")
	case widened:
		// Refused before consuming: a bad scope request does not cost the
		// client its refresh token.
		return tokenResponse{}, invalidScope("the requested scope exceeds the scope originally granted")
	}
	scopes := granted
	if len(requested) > 0 {
		scopes = requested
	}
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        rec.grant,
		accessScopes: p.scopeSetOf(scopes),
		refresh:      rotate,
		refreshScope: rec.scope,
		idToken:      rec.grant.user != nil && slices.Contains(scopes, oauth.ScopeOpenID),
	}, now)
}
