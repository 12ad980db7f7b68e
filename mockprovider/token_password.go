package mockprovider

import (
	"net/url"
	"time"
)

// grantPassword is RFC 6749 4.3, only for clients configured for it.
func (p *Provider) grantPassword(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantPassword) {
		return tokenResponse{}, unauthorizedClient("this client may not use the password grant")
	}
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return tokenResponse{}, invalidRequest("username and password are required")
	}
	user := p.checkPassword(username, password)
	if user == nil {
		return tokenResponse{}, invalidGrant("the username or password is wrong")
	}
	scopes, _, oerr := p.resolveTokenScope(client, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	g := &grant{clientID: client.ID, user: user, subject: user.Subject, scopes: scopes, authTime: now}
	return p.issueForUser(client, g, "", now)
}

// checkPassword returns the user when the password is right. The compare is
// constant-time whether or not the user exists.
func (p *Provider) checkPassword(username, password string) *User {
	u := p.users[username]
	want := "\x00no such user"
	if u != nil {
		want = u.Password
	}
	if !secretEqual(want, password) || u == nil {
		return nil
	}
	return u
}
