package flows

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// ImplicitOptions configure [Implicit].
type ImplicitOptions struct {
	// Role is the client (default legacy).
	Role Role
	// Scopes requested; nil means the client's scopes.
	Scopes []string
	// Params replace authorization request parameters (see AuthCodeOptions.Params).
	Params      url.Values
	RedirectURI string
	Consent     ConsentMode
	Browser     *Browser
	Session     *Session
	// FreshBrowserSession: see AuthCodeOptions.
	FreshBrowserSession bool
	Deny                bool
	Record              RecordMode
}

// Implicit runs the implicit grant (RFC 6749 4.2, response_type=token), which
// RFC 9700 2.1.2 says not to use; the suites check providers refuse or confine
// it. The token comes in the fragment of the redirect: in the browser a page of
// the callback listener posts it back; with form posts the Location header is
// read directly. Steps: "authorize", "login", "consent". The token is built
// from the response parameters; Result.Authorization.ResponseInFragment says
// where they came (a token in the query is a provider bug the suites report).
func Implicit(ctx context.Context, t *Target, opts ImplicitOptions) (*Result, error) {
	role := opts.Role
	if role == "" {
		role = RoleLegacy
	}
	r, err := begin(ctx, t, FlowImplicit, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	authz, err := r.authorize(ctx, authorizeRequest{
		responseType: "token", scopes: opts.Scopes, params: opts.Params, redirectURI: opts.RedirectURI,
		consent: opts.Consent, browser: opts.Browser, session: opts.Session, deny: opts.Deny, nonce: true,
		freshBrowser: opts.FreshBrowserSession,
	})
	if err != nil {
		return r.done(err)
	}
	if err := checkState(authz); err != nil {
		return r.done(err)
	}
	p := authz.Response
	if p.Get("access_token") == "" {
		return r.done(&ResponseError{Step: "authorize", Reason: "implicit response has no access_token"})
	}
	tok := &oauth2.Token{AccessToken: p.Get("access_token"), TokenType: p.Get("token_type"), RefreshToken: p.Get("refresh_token")}
	extra := map[string]any{}
	for k := range p {
		extra[k] = p.Get(k)
	}
	if n, err := strconv.ParseInt(p.Get("expires_in"), 10, 64); err == nil && n > 0 {
		tok.ExpiresIn = n
		tok.Expiry = time.Now().Add(time.Duration(n) * time.Second)
	}
	r.res.setToken(tok.WithExtra(extra))
	return r.done(nil)
}
