package flows

import (
	"context"
	"net/url"
)

// RefreshOptions configure [Refresh].
type RefreshOptions struct {
	// Scopes, when not nil, ask for a narrower scope (RFC 6749 6); nil sends no
	// scope, keeping the original grant's.
	Scopes []string
	// Params are extra token request parameters.
	Params url.Values
	Record RecordMode
}

// Refresh redeems a refresh token as the client of role (RFC 6749 6), step
// "refresh". The result's Token.RefreshToken is the new refresh token when the
// provider rotated it, else the one sent; [Result.RefreshTokenIssued] tells which.
func Refresh(ctx context.Context, t *Target, role Role, refreshToken string, opts RefreshOptions) (*Result, error) {
	r, err := begin(ctx, t, FlowRefresh, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	for k, v := range opts.Params {
		params[k] = v
	}
	tok, err := r.tokenRequest(ctx, "refresh", opts.Scopes, params)
	r.res.setToken(tok)
	return r.done(err)
}
