package suites

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/redact"
)

// The authorization-request checks of RFC 6749 3.1 and RFC 9700 that need more
// than the plain code flow: a PKCE downgrade, unknown and repeated
// parameters, where errors go, framing, the iss response parameter and the
// status of the login POST.

// authorizationWith runs the front channel like authorization, with the
// authorization request changed as opts says (extra Params, NoPKCE), and
// returns the flow's result and error for the spec to judge.
func (e *env) authorizationWith(ctx context.Context, role flows.Role, opts flows.AuthCodeOptions) (*flows.Result, error) {
	c := e.client(role)
	if c.RedirectURI == "" {
		e.skipf("the target profile's %s client has no redirect_uri", role)
	}
	if opts.Consent == "" {
		opts.Consent = e.consentMode(false)
	}
	opts.Role = role
	opts.Scopes = e.scopesFor(c, opts.Scopes)
	opts.Browser = e.browserFor(opts.Consent)
	opts.StopAfterAuthorization = true
	res, err := flows.AuthCode(e.spec(ctx), e.target, opts)
	e.keep(res)
	e.keepErr(err)
	return res, err
}

// expectCode asserts that a front channel run ended with a code at the
// redirect URI, and returns the authorization.
func expectCode(res *flows.Result, err error, what string) *flows.Authorization {
	Expect(err).NotTo(HaveOccurred(), "%s", what)
	Expect(res.Authorization).NotTo(BeNil(), "%s: an authorization response reached the redirect URI", what)
	Expect(res.Authorization.Code()).NotTo(BeEmpty(), "%s: the authorization response has a code; got parameters %v", what, paramNames(res.Authorization.Response))
	return res.Authorization
}

// frameAncestors returns the frame-ancestors sources of the CSP headers, and
// whether any CSP header has the directive.
func frameAncestors(h http.Header) ([]string, bool) {
	for _, policy := range h.Values("Content-Security-Policy") {
		for directive := range strings.SplitSeq(policy, ";") {
			fields := strings.Fields(directive)
			if len(fields) > 0 && strings.EqualFold(fields[0], "frame-ancestors") {
				return fields[1:], true
			}
		}
	}
	return nil, false
}

// framingRefused reports whether response headers keep a page out of other
// sites' frames (RFC 9700 4.16): X-Frame-Options DENY or SAMEORIGIN, or a CSP
// frame-ancestors that allows no wildcard.
func framingRefused(h http.Header) bool {
	switch strings.ToUpper(strings.TrimSpace(h.Get("X-Frame-Options"))) {
	case "DENY", "SAMEORIGIN":
		return true
	}
	sources, ok := frameAncestors(h)
	if !ok {
		return false
	}
	for _, s := range sources {
		if s == "*" || strings.EqualFold(s, "https:") || strings.EqualFold(s, "http:") {
			return false
		}
	}
	return true
}

// describeKind names a page kind for evidence; a page the profile's selectors
// do not recognise (one rendered by script, say) is still judged.
func describeKind(k flows.PageKind) string {
	if k == flows.PageUnknown {
		return "unrecognised"
	}
	return string(k)
}

func (e *env) declareAuthorizationSecurity() {
	Describe("authorization code: PKCE downgrade and request parameters", Label("authcode"), func() {
		It("AC9: a code_verifier for a code issued without code_challenge (PKCE downgrade) is refused", check("AC9", "rfc9700", "oauch"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			res, err := e.authorizationWith(ctx, flows.RoleConfidential, flows.AuthCodeOptions{NoPKCE: true})
			if oauthErr := (*flows.OAuthError)(nil); errors.As(err, &oauthErr) {
				// A provider that requires PKCE of every client refuses the
				// request at once: no code, so nothing to downgrade.
				AddReportEntry("authorization without code_challenge", "refused with "+oauthErr.Code, ReportEntryVisibilityFailureOrVerbose)
				return
			}
			auth := expectCode(res, err, "authorization request without code_challenge")
			r := e.redeem(ctx, c, auth, url.Values{"code_verifier": {oauth2.GenerateVerifier()}})
			expectTokenError(r, oauth.InvalidGrant, oauth.InvalidRequest)
		})

		It("AC12: an unknown authorization request parameter is ignored and the flow succeeds", check("AC12", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			res, err := e.authorizationWith(ctx, flows.RoleConfidential, flows.AuthCodeOptions{
				Params: url.Values{"grantbench_unknown_parameter": {"to-be-ignored"}},
			})
			auth := expectCode(res, err, "authorization request with an unknown parameter (RFC 6749 3.1: it MUST be ignored)")
			expectTokenResponse(e.redeem(ctx, c, auth, nil), "redemption of the code")
		})

		It("AC13: an authorization request parameter sent twice is refused", check("AC13", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			for _, name := range []string{"response_type", "scope"} {
				By(name + " sent twice")
				value := "code"
				if name == "scope" {
					value = strings.Join(e.scopesFor(c, nil), " ")
				}
				e.expectRefusedThroughLogin(ctx, flows.RoleConfidential, flows.AuthCodeOptions{Params: url.Values{name: {value, value}}},
					name+" sent twice", oauth.InvalidRequest)
			}
		})
	})

	Describe("redirect URI, state and mix-up: errors, framing, iss, login POST", Label("redirect"), func() {
		It("B4: an invalid scope or response_type for a valid client is reported to the client's registered URI, never elsewhere", check("B4", "rfc9700"), func(ctx SpecContext) {
			c := e.redirectClient()
			evil := "https://attacker.invalid/callback"
			for _, bad := range []struct{ what, name, value string }{
				{"an unknown scope", "scope", "openid grantbench_unknown_scope"},
				{"an unknown response_type", "response_type", "grantbench_unknown"},
			} {
				By(bad.what + " with an unregistered redirect_uri")
				params, _ := authParams(c, evil)
				params.Set(bad.name, bad.value)
				r := e.authorize(ctx, params)
				expectNoRedirectTo(r, evil, bad.what+" with an unregistered redirect_uri")
				e.expectErrorPage(r, bad.what+" with an unregistered redirect_uri")

				// With the registered URI the provider may report the error
				// there, or ignore an unknown scope (RFC 6749 3.3); AC14 judges
				// the response_type error itself. Any redirect that leaves the
				// provider must go to the registered URI.
				By(bad.what + " with the registered redirect_uri")
				params, _ = authParams(c, c.RedirectURI)
				params.Set(bad.name, bad.value)
				r = e.authorize(ctx, params)
				if r.Location != nil && r.Status >= 300 && r.Status < 400 {
					Expect(sameEndpoint(r.Location, c.RedirectURI)).To(BeTrue(), "%s: the provider redirected somewhere other than the registered redirect_uri; got %s", bad.what, r.describe())
				}
			}
		})

		It("B5: the authorization pages refuse framing (X-Frame-Options or CSP frame-ancestors)", check("B5", "rfc9700"), func(ctx SpecContext) {
			c := e.redirectClient()
			params, _ := authParams(c, c.RedirectURI)
			// The authorization request may redirect to a login application
			// (on another host, binding its page to a cookie): the page to
			// judge is the one that shows the login form, wherever it is.
			r := e.followPages(ctx, e.authorizeURL(params), func(u *url.URL) bool { return !sameEndpoint(u, c.RedirectURI) })
			judged := "(none)"
			if r.URL != nil {
				judged = redact.URL(r.URL.String())
			}
			kind := e.target.ClassifyPage(r.Body)
			AddReportEntry("B5: the page judged", fmt.Sprintf("%s (%s page)", judged, describeKind(kind)), ReportEntryVisibilityFailureOrVerbose)
			Expect(r.Status).To(Equal(http.StatusOK), "the authorization request leads to a page (login or consent); judged %s, got %s", judged, r.describe())
			Expect(kind).NotTo(Equal(flows.PageError), "the authorization request leads to the provider's error page, not a login page; judged %s", judged)
			Expect(framingRefused(r.Header)).To(BeTrue(), "the %s page at %s must refuse framing (RFC 9700 4.16); X-Frame-Options %q, Content-Security-Policy %q",
				describeKind(kind), judged, r.Header.Get("X-Frame-Options"), r.Header.Values("Content-Security-Policy"))
		})

		It("B6: the authorization response's iss equals the metadata issuer", check("B6", "rfc9207"), func(ctx SpecContext) {
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{})
			advertised := e.metadata().AuthorizationResponseIssParameterSupported || e.target.Features.ResponseIss
			if !advertised && !auth.Response.Has("iss") {
				Skip("the provider neither advertises authorization_response_iss_parameter_supported (nor does the profile claim features.response_iss) nor sends iss")
			}
			Expect(auth.Response.Has("iss")).To(BeTrue(), "the authorization response carries iss (RFC 9207 2: advertised, so required)")
			Expect(auth.Response.Get("iss")).To(Equal(e.issuer), "iss of the authorization response (RFC 9207 2.4: identical to the issuer)")
		})

		It("B7: the login form POST is answered with a redirect that drops the body (303), never 307 or 308", check("B7", "rfc9700"), func(ctx SpecContext) {
			if !e.target.Features.HTTPConsent {
				Skip("the login POST's status is read from a form post, which needs features.http_consent (a browser does not expose it)")
			}
			res, err := e.authorizationWith(ctx, flows.RoleConfidential, flows.AuthCodeOptions{Consent: flows.ConsentHTTP})
			expectCode(res, err, "code flow with HTTP form posts")
			posts := 0
			for _, ex := range res.Exchanges {
				if ex.Step != "login" || ex.Method != http.MethodPost {
					continue
				}
				posts++
				Expect(ex.Status).NotTo(BeElementOf(http.StatusTemporaryRedirect, http.StatusPermanentRedirect),
					"the login POST was answered %d, which makes the browser repeat the POST with the password to the next URL (RFC 9700 4.12)", ex.Status)
				if ex.Status != http.StatusSeeOther {
					// 302 is safe too (browsers follow it with GET), so it is
					// reported, not failed.
					AddReportEntry("login POST status (RFC 9700 4.12 recommends 303)", ex.Status, ReportEntryVisibilityFailureOrVerbose)
				}
			}
			Expect(posts).To(BeNumerically(">", 0), "the flow posted a login form (steps %v)", stepNames(res))
		})
	})
}
