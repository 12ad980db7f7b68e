package flows

import (
	"context"
	"net/url"

	"golang.org/x/oauth2"
)

// PasswordOptions configure [Password].
type PasswordOptions struct {
	// Role is the client (default legacy).
	Role Role
	// Scopes requested; nil means the client's scopes.
	Scopes []string
	// Username and Password override the profile's user (e.g. a wrong password).
	Username, Password string
	Record             RecordMode
}

// Password runs the resource owner password credentials grant (RFC 6749 4.3),
// step "token". RFC 9700 2.4 says it MUST NOT be used; the suites check that
// providers refuse it where they should.
func Password(ctx context.Context, t *Target, opts PasswordOptions) (*Result, error) {
	role := opts.Role
	if role == "" {
		role = RoleLegacy
	}
	r, err := begin(ctx, t, FlowPassword, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = r.client.Scopes
	}
	user, pass := opts.Username, opts.Password
	if user == "" {
		user = t.User.Username
	}
	if pass == "" {
		pass = t.User.Password
	}
	var tok *oauth2.Token
	if r.client.method() == AuthPrivateKeyJWT {
		// PasswordCredentialsToken takes no extra parameters: the client
		// assertion goes through the one-request token call.
		tok, err = r.tokenRequest(ctx, "token", scopes, url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}})
	} else {
		conf := oauthConfig(r.md, r.client, scopes, "")
		tok, err = conf.PasswordCredentialsToken(r.ctx(ctx, "token"), user, pass)
		err = classifyTokenError("token", err, r.rec.takeTransportErr())
	}
	r.res.setToken(tok)
	return r.done(err)
}
