package mockprovider

import (
	"net/url"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// grantDeviceCode is RFC 8628 3.4 and 3.5: the client polls until the user
// decides, no faster than the interval.
func (p *Provider) grantDeviceCode(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantDeviceCode) {
		return tokenResponse{}, unauthorizedClient("this client may not use the device grant")
	}
	code := form.Get("device_code")
	if code == "" {
		return tokenResponse{}, invalidRequest("device_code is required")
	}
	p.store.mu.Lock()
	rec, ok := p.store.devices.get(keyOf(code))
	var status int
	var tooFast bool
	if ok && rec.clientID == client.ID && now.Before(rec.exp) {
		status = rec.status
		// RFC 8628 3.5: polling faster than the interval earns slow_down and
		// an interval 5 seconds longer for this and later requests.
		if status == devicePending && !rec.lastPoll.IsZero() && now.Sub(rec.lastPoll) < rec.interval &&
			!p.defect(client, dNoSlowDown) && !p.cfg.Behaviour.NeverSlowDown {
			tooFast = true
			rec.interval += 5 * time.Second
		}
		rec.lastPoll = now
		if status == deviceApproved && !p.defect(client, dDeviceCodeReuse) {
			rec.status = deviceIssued
		}
	}
	p.store.mu.Unlock()
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the device code is invalid")
	case rec.clientID != client.ID:
		return tokenResponse{}, invalidGrant("the device code was issued to another client")
	case !now.Before(rec.exp):
		return tokenResponse{}, newError(oauth.ExpiredToken, "the device code has expired")
	case tooFast:
		return tokenResponse{}, newError(oauth.SlowDown, "polling too fast; the interval is now longer")
	case status == devicePending && p.defect(client, dDevicePendingWrong):
		return tokenResponse{}, newError(oauth.SlowDown, "the user has not decided yet")
	case status == devicePending:
		return tokenResponse{}, newError(oauth.AuthorizationPending, "the user has not decided yet")
	case status == deviceDenied:
		return tokenResponse{}, newError(oauth.AccessDenied, "the user denied the request")
	case status == deviceIssued:
		return tokenResponse{}, invalidGrant("the device code was already used")
	}
	g := &grant{clientID: client.ID, user: rec.user, subject: rec.user.Subject, scopes: rec.scopes, authTime: rec.authTime}
	return p.issueForUser(client, g, "", now)
}
