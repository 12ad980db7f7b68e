package flows

import (
	"context"
	"net/url"

	"github.com/grantbench/grantbench/oauth"
)

// ClientCredentialsOptions configure [ClientCredentials].
type ClientCredentialsOptions struct {
	// Role is the client (default: Target.ServiceRole, the service client or
	// else the confidential one).
	Role Role
	// Scopes requested; nil means the client's scopes that need no user (not
	// openid, profile, offline_access, ...); an empty non-nil slice sends none.
	Scopes []string
	// Params are extra token request parameters (resource, audience, ...).
	Params url.Values
	Record RecordMode
}

// ClientCredentials runs the client credentials grant (RFC 6749 4.4): one token
// request, step "token". It is cheap per call: it reuses the target's connection
// pool, and with RecordTrace copies no bodies of successful responses.
func ClientCredentials(ctx context.Context, t *Target, opts ClientCredentialsOptions) (*Result, error) {
	role := opts.Role
	if role == "" {
		role = t.ServiceRole()
	}
	r, err := begin(ctx, t, FlowClientCredentials, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = nonUserScopes(r.client.Scopes)
	}
	params := url.Values{"grant_type": {string(oauth.GrantClientCredentials)}}
	for k, v := range opts.Params {
		params[k] = v
	}
	tok, err := r.tokenRequest(ctx, "token", scopes, params)
	r.res.setToken(tok)
	return r.done(err)
}
