package suites

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/gomega" //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/trace"
)

// authOptions shape one authorization request made through flows.
type authOptions struct {
	// scopes asked for; nil asks for openid and the client's scopes.
	scopes []string
	// state to send instead of a random one.
	state string
	// verifier is the PKCE code_verifier to use instead of a random one.
	verifier string
	// forceBrowser drives login and consent in Chromium even when the target
	// can be driven over HTTP: for checks where a person would be present.
	// Such a flow runs in a fresh browser session, so that it logs in itself
	// whatever browser check ran before it (Ginkgo shuffles the areas, and a
	// broken login would otherwise fail whichever browser check came first).
	forceBrowser bool
	// deny makes the user deny consent.
	deny bool
	// freshSession runs the flow in a new login session (a browser context
	// without cookies), so that the provider asks for login and consent again
	// rather than remembering a consent an earlier check gave.
	freshSession bool
}

// authorization runs the front-channel part of the code flow for the client of
// role (login and consent, in the browser or over HTTP as the profile allows)
// and returns the authorization response, without redeeming the code.
func (e *env) authorization(ctx context.Context, role flows.Role, opts authOptions) *flows.Authorization {
	c := e.client(role)
	if c.RedirectURI == "" {
		e.skipf("the target profile's %s client has no redirect_uri", role)
	}
	mode := e.consentMode(opts.forceBrowser)
	res, err := flows.AuthCode(e.spec(ctx), e.target, flows.AuthCodeOptions{
		Role:                   role,
		Scopes:                 e.scopesFor(c, opts.scopes),
		State:                  opts.state,
		CodeVerifier:           opts.verifier,
		Consent:                mode,
		Browser:                e.browserFor(mode),
		FreshBrowserSession:    opts.forceBrowser,
		Deny:                   opts.deny,
		StopAfterAuthorization: true,
	})
	e.keep(res)
	e.keepErr(err)
	Expect(err).NotTo(HaveOccurred(), "authorization request as the %s client (consent: %s)", role, mode)
	Expect(res.Authorization).NotTo(BeNil(), "an authorization response reached the redirect URI")
	Expect(res.Authorization.Code()).NotTo(BeEmpty(), "the authorization response has a code; got parameters %v", paramNames(res.Authorization.Response))
	return res.Authorization
}

// authorizationError runs the front channel expecting an OAuth error at the
// redirect URI (consent denied, say) and returns it.
func (e *env) authorizationError(ctx context.Context, role flows.Role, opts authOptions) (*flows.OAuthError, *flows.Result) {
	c := e.client(role)
	mode := e.consentMode(opts.forceBrowser)
	res, err := flows.AuthCode(e.spec(ctx), e.target, flows.AuthCodeOptions{
		Role:                   role,
		Scopes:                 e.scopesFor(c, opts.scopes),
		State:                  opts.state,
		Consent:                mode,
		Browser:                e.browserFor(mode),
		FreshBrowserSession:    opts.forceBrowser || opts.freshSession,
		Deny:                   opts.deny,
		StopAfterAuthorization: true,
	})
	e.keep(res)
	e.keepErr(err)
	if err == nil && opts.deny && !hasStep(res, "consent") {
		// Nothing to deny: the provider grants without asking the user.
		e.skipf("the provider showed no consent page, so the user could not deny (the flow went %v)", stepNames(res))
	}
	var oauthErr *flows.OAuthError
	Expect(errors.As(err, &oauthErr)).To(BeTrue(), "want an OAuth error response at the redirect URI; got %v", describeOutcome(res, err))
	return oauthErr, res
}

// hasStep reports whether a flow went through a step of that name.
func hasStep(res *flows.Result, name string) bool {
	return res != nil && slices.ContainsFunc(res.Trace, func(s trace.Step) bool { return s.Name == name })
}

// stepNames lists a flow's steps in order.
func stepNames(res *flows.Result) []string {
	if res == nil {
		return nil
	}
	names := make([]string, len(res.Trace))
	for i, s := range res.Trace {
		names[i] = s.Name
	}
	return names
}

// describeOutcome says what a flow that should have failed did instead.
func describeOutcome(res *flows.Result, err error) string {
	if err != nil {
		return err.Error()
	}
	if res != nil && res.Authorization != nil {
		return fmt.Sprintf("a successful authorization response with parameters %v after steps %v", paramNames(res.Authorization.Response), stepNames(res))
	}
	return "no error"
}

// scopesFor returns the scopes to request: asked, or openid plus the client's.
func (e *env) scopesFor(c *flows.Client, asked []string) []string {
	if asked != nil {
		return asked
	}
	return strings.Fields(authScope(c))
}

// redeem exchanges an authorization response's code at the token endpoint as
// client c, with form overrides (a value of "" removes the parameter).
func (e *env) redeem(ctx context.Context, c *flows.Client, auth *flows.Authorization, overrides url.Values) *response {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {auth.Code()},
		"redirect_uri": {auth.RedirectURI},
	}
	if auth.CodeVerifier != "" {
		form.Set("code_verifier", auth.CodeVerifier)
	}
	for k, v := range overrides {
		if len(v) == 1 && v[0] == "" {
			form.Del(k)
			continue
		}
		form[k] = v
	}
	return e.token(ctx, c, form)
}

// tokenResponse is a successful token response, parsed.
type tokenResponse struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    time.Duration
	HasExpiresIn bool
	RefreshToken string
	IDToken      string
	Scope        string
}

// expectTokenResponse asserts a 200 token response with the members RFC 6749
// 5.1 requires, and parses it.
func expectTokenResponse(r *response, what string) tokenResponse {
	Expect(r.Status).To(Equal(200), "%s: token response status; got %s", what, r.describe())
	Expect(r.object()).NotTo(BeNil(), "%s: token response is a JSON object; got %s", what, r.describe())
	tr := parseTokenResponse(r)
	Expect(tr.AccessToken).NotTo(BeEmpty(), "%s: access_token", what)
	Expect(tr.TokenType).NotTo(BeEmpty(), "%s: token_type", what)
	return tr
}

// parseTokenResponse reads the members of a token response body; absent or
// mistyped members stay zero.
func parseTokenResponse(r *response) tokenResponse {
	obj := r.object()
	tr := tokenResponse{}
	tr.AccessToken, _ = obj["access_token"].(string)
	tr.TokenType, _ = obj["token_type"].(string)
	tr.RefreshToken, _ = obj["refresh_token"].(string)
	tr.IDToken, _ = obj["id_token"].(string)
	tr.Scope, _ = obj["scope"].(string)
	switch v := obj["expires_in"].(type) {
	case float64:
		tr.ExpiresIn, tr.HasExpiresIn = time.Duration(v)*time.Second, true
	case string:
		// Some providers send it as a string; RFC 6749 5.1 says a number.
		if n, err := strconv.Atoi(v); err == nil {
			tr.ExpiresIn, tr.HasExpiresIn = time.Duration(n)*time.Second, true
		}
	}
	return tr
}

// codeTokens runs the code flow for role and redeems the code, returning the
// authorization and the parsed token response.
func (e *env) codeTokens(ctx context.Context, role flows.Role, opts authOptions) (*flows.Authorization, tokenResponse) {
	auth := e.authorization(ctx, role, opts)
	r := e.redeem(ctx, e.client(role), auth, nil)
	return auth, expectTokenResponse(r, "code redemption")
}

// refreshTokens runs the code flow asking for offline_access and returns the
// token response, which must hold a refresh token.
func (e *env) refreshTokens(ctx context.Context, role flows.Role, scopes []string) tokenResponse {
	c := e.client(role)
	if scopes == nil {
		scopes = []string{oauth.ScopeOpenID, oauth.ScopeOfflineAccess}
		for _, s := range c.Scopes {
			if s != oauth.ScopeOpenID && s != oauth.ScopeOfflineAccess {
				scopes = append(scopes, s)
			}
		}
	}
	_, tr := e.codeTokens(ctx, role, authOptions{scopes: scopes})
	Expect(tr.RefreshToken).NotTo(BeEmpty(), "the code flow with offline_access returns a refresh token")
	return tr
}

// refresh sends a refresh request as c with the profile's authentication.
func (e *env) refresh(ctx context.Context, c *flows.Client, refreshToken string, scope string) *response {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return e.post(ctx, "refresh", e.metadata().TokenEndpoint, c, authProfile, form)
}

func paramNames(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}
