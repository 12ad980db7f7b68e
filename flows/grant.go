package flows

import (
	"context"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantbench/grantbench/oauth"
)

// run is the state one flow call carries: the target, its metadata, the client
// and the recorder that fills the result.
type run struct {
	t      *Target
	md     *Metadata
	client *Client
	rec    *Recorder
	res    *Result
}

// begin starts a flow: it resolves the client and the metadata. The result is
// always usable, even when begin fails.
func begin(ctx context.Context, t *Target, flow string, role Role, mode RecordMode) (*run, error) {
	r := &run{t: t, rec: NewRecorder(mode), res: &Result{Flow: flow, Role: role, Start: time.Now()}}
	c, err := t.Client(role)
	if err != nil {
		return r, err
	}
	r.client = c
	md, err := t.metadata(ctx)
	if err != nil {
		return r, err
	}
	r.md = md
	return r, nil
}

// done closes the result and passes err through.
func (r *run) done(err error) (*Result, error) {
	r.res.finish(r.rec)
	return r.res, err
}

// ctx returns a context that makes x/oauth2 use the target's client and records
// requests under step.
func (r *run) ctx(ctx context.Context, step string) context.Context {
	return r.t.oauthContext(ctx, r.rec, step)
}

// tokenRequest sends one token request with any grant type through x/oauth2.
// x/oauth2 has no public single-request API for arbitrary grants, but its
// clientcredentials package lets grant_type be overridden (for interoperability),
// which gives exactly one POST with the client's authentication and x/oauth2's
// response parsing.
func (r *run) tokenRequest(ctx context.Context, step string, scopes []string, params url.Values) (*oauth2.Token, error) {
	params, err := r.t.withClientAssertion(ctx, r.client, params)
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{
		ClientID:       r.client.ClientID,
		ClientSecret:   r.client.ClientSecret,
		TokenURL:       r.md.TokenEndpoint,
		Scopes:         scopes,
		EndpointParams: params,
		AuthStyle:      authStyle(r.client.method()),
	}
	tok, err := cc.Token(r.ctx(ctx, step))
	return tok, classifyTokenError(step, err, r.rec.takeTransportErr())
}

// nonUserScopes returns the scopes that make sense without a user: a client
// credentials request asks for these by default, not for oauth.UserScopes.
func nonUserScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !oauth.IsUserScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// TokenRequestOptions configure [TokenRequest].
type TokenRequestOptions struct {
	// Role is the client to authenticate as (default confidential).
	Role Role
	// GrantType is the grant_type sent.
	GrantType string
	// Scopes, when not nil, are sent as scope.
	Scopes []string
	// Params are the other body parameters (not scope, not client credentials).
	Params url.Values
	// Step names the trace step (default "token").
	Step   string
	Record RecordMode
}

// TokenRequest sends one token request of any grant type with the client's
// authentication, as x/oauth2 would send it. Suites use it for requests a grant
// helper would not make (an unknown grant type, a grant the client is not
// allowed); malformed requests need raw net/http instead.
func TokenRequest(ctx context.Context, t *Target, opts TokenRequestOptions) (*Result, error) {
	role, step, params := opts.resolve()
	r, err := begin(ctx, t, opts.GrantType, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	tok, err := r.tokenRequest(ctx, step, opts.Scopes, params)
	r.res.setToken(tok)
	return r.done(err)
}

// resolve fills in the defaults (the confidential client, step "token") and
// builds the body parameters before scope and client authentication: grant_type
// and Params.
func (o TokenRequestOptions) resolve() (role Role, step string, params url.Values) {
	role, step = o.Role, o.Step
	if role == "" {
		role = RoleConfidential
	}
	if step == "" {
		step = "token"
	}
	params = url.Values{"grant_type": {o.GrantType}}
	for k, v := range o.Params {
		params[k] = v
	}
	return role, step, params
}
