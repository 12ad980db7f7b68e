package suites

import (
	"net/url"
	"slices"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// legacyClient returns the client allowed the legacy grants, skipping unless the
// profile claims the feature.
func (e *env) legacyClient(claimed bool, feature string) *flows.Client {
	e.need(claimed, feature)
	return e.client(flows.RoleLegacy)
}

// notLegacy returns a client that is not the legacy client: the confidential
// one, or the public one.
func (e *env) notLegacy() *flows.Client {
	legacyID := ""
	if l, err := e.target.Client(flows.RoleLegacy); err == nil {
		legacyID = l.ClientID
	}
	for _, role := range []flows.Role{flows.RoleConfidential, flows.RolePublic} {
		if c, err := e.target.Client(role); err == nil && c.ClientID != legacyID {
			return c
		}
	}
	Skip("the target profile has no confidential or public client besides the legacy one")
	return nil
}

func (e *env) declareLegacy() {
	Describe("legacy grants", Label("legacy"), func() {
		It("L1: the password grant is refused to a client not allowed it; where allowed it works and a wrong password gets invalid_grant", check("L1", "rfc6749", "rfc9700"), func(ctx SpecContext) {
			By("a client not allowed the password grant")
			c := e.notLegacy()
			form := url.Values{"grant_type": {"password"}, "username": {e.target.User.Username}, "password": {e.target.User.Password}}
			codes := []oauth.ErrorCode{oauth.UnauthorizedClient}
			if gts := e.metadata().GrantTypesSupported; len(gts) > 0 && !slices.Contains(gts, "password") {
				codes = append(codes, oauth.UnsupportedGrantType)
			}
			if c.ClientSecret == "" {
				// A public client cannot authenticate; it may be turned away as such.
				codes = append(codes, oauth.InvalidClient)
			}
			expectTokenError(e.token(ctx, c, form), codes...)

			if !e.target.Features.Password || !e.target.HasClient(flows.RoleLegacy) {
				AddReportEntry("skipped part", "the profile claims no password grant (features.password, clients.legacy): the allowed case was not checked")
				return
			}
			By("the legacy client, allowed the password grant")
			res, err := flows.Password(e.spec(ctx), e.target, flows.PasswordOptions{Role: flows.RoleLegacy})
			e.keep(res)
			Expect(err).NotTo(HaveOccurred(), "password grant for the legacy client")
			Expect(res.Token.AccessToken).NotTo(BeEmpty(), "access_token")

			By("a wrong password")
			legacy := e.client(flows.RoleLegacy)
			wrong := url.Values{"grant_type": {"password"}, "username": {e.target.User.Username}, "password": {e.target.User.Password + "-wrong"}}
			expectTokenError(e.token(ctx, legacy, wrong), oauth.InvalidGrant)
		})

		It("L2: response_type=token is refused to a client not allowed it; where allowed the token comes in the fragment with the state", check("L2", "rfc6749", "rfc9700"), func(ctx SpecContext) {
			By("a client not allowed the implicit grant")
			c := e.notLegacy()
			if c.RedirectURI == "" {
				Skip("the client has no redirect_uri")
			}
			params, _ := authParams(c, c.RedirectURI)
			params.Set("response_type", "token")
			r := e.authorize(ctx, params)
			if p, ok := redirectParams(r, c.RedirectURI); ok {
				Expect(p.Has("access_token")).To(BeFalse(), "no access token for a client not allowed the implicit grant")
			}
			e.expectAuthorizationRefused(r, c.RedirectURI, params.Get("state"), oauth.UnauthorizedClient, oauth.UnsupportedResponseType)

			if !e.target.Features.Implicit || !e.target.HasClient(flows.RoleLegacy) {
				AddReportEntry("skipped part", "the profile claims no implicit grant (features.implicit, clients.legacy): the allowed case was not checked")
				return
			}
			By("the legacy client, allowed the implicit grant")
			auth := e.implicit(ctx)
			Expect(auth.ResponseInFragment).To(BeTrue(), "the implicit response comes in the fragment, never the query (RFC 6749 4.2.2)")
			Expect(auth.Response.Get("access_token")).NotTo(BeEmpty(), "access_token in the fragment")
			Expect(auth.ReturnedState()).To(Equal(auth.State), "state comes back exactly")
		})

		It("L3: an implicit response carries no refresh token", check("L3", "rfc6749"), func(ctx SpecContext) {
			e.legacyClient(e.target.Features.Implicit, "implicit")
			auth := e.implicit(ctx)
			Expect(auth.Response.Get("access_token")).NotTo(BeEmpty(), "access_token in the implicit response")
			Expect(auth.Response.Has("refresh_token")).To(BeFalse(), "the implicit grant must not issue a refresh token (RFC 6749 4.2.2)")
		})
	})
}

// implicit runs the implicit grant for the legacy client and returns its
// authorization response.
func (e *env) implicit(ctx SpecContext) *flows.Authorization {
	mode := e.consentMode(false)
	res, err := flows.Implicit(e.spec(ctx), e.target, flows.ImplicitOptions{
		Role:    flows.RoleLegacy,
		Consent: mode,
		Browser: e.browserFor(mode),
	})
	e.keep(res)
	e.keepErr(err)
	Expect(err).NotTo(HaveOccurred(), "implicit grant for the legacy client")
	Expect(res.Authorization).NotTo(BeNil(), "an authorization response reached the redirect URI")
	return res.Authorization
}
