package suites

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// defaultCodeLifetime is what the expiry check waits out when the profile does
// not state the code lifetime: RFC 6749 4.1.2 recommends at most 10 minutes.
const defaultCodeLifetime = 10 * time.Minute

// expectAuthorizationRefused asserts that an authorization request was refused:
// either an error redirect to the client whose error is one of codes, or an
// error page of the provider's own; never a code or a token. A state in the
// error redirect must be the one sent; whether it comes back at all is B8's and
// AC15's to check, not every refusal's.
func (e *env) expectAuthorizationRefused(r *response, redirectURI, state string, codes ...oauth.ErrorCode) {
	if params, ok := redirectParams(r, redirectURI); ok {
		Expect(params.Has("code")).To(BeFalse(), "the refused request must not yield a code")
		Expect(params.Has("access_token")).To(BeFalse(), "the refused request must not yield a token")
		Expect(params.Get("error")).To(BeElementOf(wireCodes(codes)), "error of the redirect; got %s", r.describe())
		if params.Has("state") {
			Expect(params.Get("state")).To(Equal(state), "the error redirect's state is the one sent")
		}
		return
	}
	e.expectErrorPage(r, "refused authorization request")
}

// expectRefusedThroughLogin runs an authorization request changed as opts says
// the way a user would: through the provider's login and consent pages (in the
// browser or by form posts) up to where it ends. A provider may refuse the
// request at once or only after login, with an error redirect to the client
// (the state it carries must be the one sent) or an error page of its own;
// both are refusals. Only a code (or a token) coming back is a failure.
func (e *env) expectRefusedThroughLogin(ctx context.Context, role flows.Role, opts flows.AuthCodeOptions, what string, codes ...oauth.ErrorCode) {
	res, err := e.authorizationWith(ctx, role, opts)
	var oauthErr *flows.OAuthError
	if errors.As(err, &oauthErr) {
		if oauthErr.ErrorPage {
			Expect(oauthErr.Status).To(BeNumerically("<", 500), "%s: the provider's error page is a 4xx, never a 5xx; got HTTP %d (%s)", what, oauthErr.Status, oauthErr.Code)
			return
		}
		Expect(oauthErr.Params.Has("code")).To(BeFalse(), "%s: the error redirect must not carry a code", what)
		Expect(oauthErr.Params.Has("access_token")).To(BeFalse(), "%s: the error redirect must not carry a token", what)
		Expect(oauthErr.Code).To(BeElementOf(wireCodes(codes)), "%s: error of the redirect after steps %v", what, stepNames(res))
		if oauthErr.Params.Has("state") {
			Expect(oauthErr.Params.Get("state")).To(Equal(res.Authorization.State), "%s: the error redirect's state is the one sent", what)
		}
		AddReportEntry(what, fmt.Sprintf("refused with %s after steps %v", oauthErr.Code, stepNames(res)), ReportEntryVisibilityFailureOrVerbose)
		return
	}
	Expect(err).NotTo(HaveOccurred(), "%s: the flow ended neither in an error redirect nor on the provider's error page", what)
	Expect(res.Authorization).NotTo(BeNil(), "%s: an authorization response", what)
	Expect(res.Authorization.Response.Has("code")).To(BeFalse(), "%s: the provider must refuse the request, but a code came back after steps %v", what, stepNames(res))
	Expect(res.Authorization.Response.Has("access_token")).To(BeFalse(), "%s: the provider must refuse the request, but a token came back after steps %v", what, stepNames(res))
	Fail(fmt.Sprintf("%s: the authorization response carries neither an error nor a code (parameters %v)", what, paramNames(res.Authorization.Response)))
}

func (e *env) declareAuthCode() {
	Describe("authorization code and PKCE", Label("authcode"), func() {
		It("AC1: a browser login and consent returns the code with the exact state, and a 200 no-store token response", check("AC1", "rfc6749", "oidc", "browser"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{forceBrowser: true})
			Expect(auth.ReturnedState()).To(Equal(auth.State), "state comes back exactly")

			r := e.redeem(ctx, c, auth, nil)
			tr := expectTokenResponse(r, "code redemption")
			Expect(strings.ToLower(tr.TokenType)).To(Equal("bearer"), "token_type")
			Expect(tr.HasExpiresIn).To(BeTrue(), "expires_in is present")
			Expect(tr.ExpiresIn).To(BeNumerically(">", 0), "expires_in")
			Expect(r.isJSON()).To(BeTrue(), "Content-Type application/json; got %q", r.Header.Get("Content-Type"))
			expectNoStore(r)
		})

		It("AC2: a code redeemed twice gets invalid_grant the second time, and the first redemption's tokens should be revoked", check("AC2", "rfc6749", "oidc"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			first := expectTokenResponse(e.redeem(ctx, c, auth, nil), "first redemption")
			second := e.redeem(ctx, c, auth, nil)
			expectTokenError(second, oauth.InvalidGrant)

			// RFC 6749 4.1.2: the tokens of the first redemption SHOULD be
			// revoked. A SHOULD not met is a warning.
			active, via, observed := e.accessTokenActive(ctx, first.AccessToken)
			if !observed {
				AddReportEntry("tokens of the first redemption", "not observed: the profile claims neither introspection nor userinfo", ReportEntryVisibilityAlways)
			} else if active {
				e.warn("the access token of the code's first redemption is still active (%s) after the code was redeemed again; RFC 6749 4.1.2: the server SHOULD revoke all tokens issued on that code", via)
			}
			if first.RefreshToken != "" {
				if r := e.refresh(ctx, c, first.RefreshToken, ""); r.Status == http.StatusOK {
					e.warn("the refresh token of the code's first redemption still refreshes after the code was redeemed again; RFC 6749 4.1.2: the server SHOULD revoke all tokens issued on that code")
				}
			}
		})

		It("AC4: a code redeemed after its lifetime gets invalid_grant", check("AC4", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			lifetime := e.target.Lifetimes.Code
			if lifetime == 0 && e.target.Features.AdminClock {
				lifetime = defaultCodeLifetime
			}
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			e.passTime(ctx, lifetime, "the authorization code")
			expectTokenError(e.redeem(ctx, c, auth, nil), oauth.InvalidGrant)
		})

		It("AC5: a code redeemed by another client gets invalid_grant or invalid_client", check("AC5", "rfc6749"), func(ctx SpecContext) {
			owner := e.client(flows.RoleConfidential)
			// The public client is allowed the code grant wherever it exists, so
			// its refusal can only come from the code's binding; the "other"
			// client may be refused the grant as such (unauthorized_client),
			// which would prove nothing.
			var thief *flows.Client
			for _, role := range []flows.Role{flows.RolePublic, flows.RoleOther} {
				if c, err := e.target.Client(role); err == nil && c.ClientID != owner.ClientID {
					thief = c
					break
				}
			}
			if thief == nil {
				Skip("the target profile has no public or other client distinct from the confidential one")
			}
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			expectTokenError(e.redeem(ctx, thief, auth, nil), oauth.InvalidGrant, oauth.InvalidClient)
		})

		It("AC6: a token request whose redirect_uri differs from the authorization request's gets invalid_grant", check("AC6", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			expectTokenError(e.redeem(ctx, c, auth, url.Values{"redirect_uri": {otherRedirectURI(auth.RedirectURI)}}), oauth.InvalidGrant)
		})

		It("AC7: an S256 challenge redeemed without code_verifier gets invalid_grant", check("AC7", "rfc7636"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			Expect(auth.CodeVerifier).NotTo(BeEmpty(), "the flow sent a PKCE challenge")
			// A missing parameter may also be reported as invalid_request.
			expectTokenError(e.redeem(ctx, c, auth, url.Values{"code_verifier": {""}}), oauth.InvalidGrant, oauth.InvalidRequest)
		})

		It("AC8: a wrong code_verifier gets invalid_grant", check("AC8", "rfc7636"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			expectTokenError(e.redeem(ctx, c, auth, url.Values{"code_verifier": {oauth2.GenerateVerifier()}}), oauth.InvalidGrant)
		})

		It("AC10: code_challenge_method=plain, or a code_verifier under 43 characters, is refused", check("AC10", "rfc7636", "rfc9700"), func(ctx SpecContext) {
			if !e.metadata().SupportsCodeChallenge("S256") {
				Skip("the provider does not advertise S256 (code_challenge_methods_supported), so plain may be all it has")
			}
			By("code_challenge_method=plain at the authorization endpoint")
			verifier := oauth2.GenerateVerifier()
			e.expectRefusedThroughLogin(ctx, flows.RoleConfidential, flows.AuthCodeOptions{
				NoPKCE: true, Params: url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}},
			}, "code_challenge_method=plain", oauth.InvalidRequest)

			By("a 42-character code_verifier")
			short := oauth2.GenerateVerifier()[:42]
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{verifier: short})
			r := e.redeem(ctx, e.client(flows.RoleConfidential), auth, nil)
			expectTokenError(r, oauth.InvalidRequest, oauth.InvalidGrant)
		})

		It("AC11: a public client without code_challenge gets invalid_request", check("AC11", "rfc7636", "rfc9700"), func(ctx SpecContext) {
			if c := e.client(flows.RolePublic); c.RedirectURI == "" {
				Skip("the profile's public client has no redirect_uri")
			}
			e.expectRefusedThroughLogin(ctx, flows.RolePublic, flows.AuthCodeOptions{NoPKCE: true},
				"a public client without code_challenge", oauth.InvalidRequest)
		})

		It("AC14: a missing or unknown response_type gets invalid_request or unsupported_response_type", check("AC14", "rfc6749"), func(ctx SpecContext) {
			c := e.redirectClient()
			By("no response_type")
			params, _ := authParams(c, c.RedirectURI)
			params.Del("response_type")
			e.expectAuthorizationRefused(e.authorize(ctx, params), c.RedirectURI, params.Get("state"), oauth.InvalidRequest, oauth.UnsupportedResponseType)

			By("an unknown response_type")
			params, _ = authParams(c, c.RedirectURI)
			params.Set("response_type", "grantbench_unknown")
			e.expectAuthorizationRefused(e.authorize(ctx, params), c.RedirectURI, params.Get("state"), oauth.UnsupportedResponseType, oauth.InvalidRequest)
		})

		It("AC15: a user who denies consent is sent back with access_denied and the state", check("AC15", "rfc6749", "browser"), func(ctx SpecContext) {
			// A fresh login session: one that consented in an earlier check
			// may not be asked again. No offline_access, whose prompt=consent
			// would force the page and hide a session that remembers.
			c := e.client(flows.RoleConfidential)
			scopes := slices.DeleteFunc(e.scopesFor(c, nil), func(s string) bool { return s == oauth.ScopeOfflineAccess })
			oauthErr, res := e.authorizationError(ctx, flows.RoleConfidential, authOptions{scopes: scopes, forceBrowser: true, deny: true, freshSession: true})
			Expect(oauthErr.Code).To(Equal(oauth.AccessDenied.String()), "error of the redirect after a denial")
			Expect(res.Authorization).NotTo(BeNil(), "the denial reached the redirect URI")
			Expect(oauthErr.Params.Get("state")).To(Equal(res.Authorization.State), "the error redirect carries the state sent")
			Expect(oauthErr.Params.Has("code")).To(BeFalse(), "no code after a denial")
		})
	})
}

// otherRedirectURI returns a URI that differs from uri but that the provider
// could plausibly accept for the client: another port for a loopback URI
// (RFC 8252 7.3), else a path suffix.
func otherRedirectURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri + "-other"
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err == nil {
			u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(n%65535+1))
			return u.String()
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/other"
	return u.String()
}
