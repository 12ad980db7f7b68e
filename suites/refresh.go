package suites

import (
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// grantedScopes is the scope of a token response, or what was asked when the
// provider omitted it (RFC 6749 5.1: omitted means identical to the request).
func grantedScopes(tr tokenResponse, asked []string) []string {
	if tr.Scope == "" {
		return asked
	}
	return strings.Fields(tr.Scope)
}

func (e *env) declareRefresh() {
	Describe("refresh tokens", Label("refresh"), func() {
		It("R1: a refresh gives a new access token; the scope may narrow and never widens", check("R1", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			asked := []string{oauth.ScopeOpenID, oauth.ScopeOfflineAccess}
			var widen string
			for _, s := range c.Scopes {
				if !slices.Contains(asked, s) && !oauth.IsUserScope(s) {
					widen = s
					break
				}
			}
			if widen == "" {
				Skip("the confidential client has no scope besides openid and offline_access to widen to (clients.confidential.scopes)")
			}
			tr := e.refreshTokens(ctx, flows.RoleConfidential, asked)
			granted := grantedScopes(tr, asked)

			By("a plain refresh")
			plain := expectTokenResponse(e.refresh(ctx, c, tr.RefreshToken, ""), "refresh")
			Expect(plain.AccessToken != tr.AccessToken).To(BeTrue(), "the refresh issues a new access token")
			Expect(granted).To(ContainElements(grantedScopes(plain, granted)), "a refresh without scope keeps the original scope, never more (RFC 6749 6)")
			current := tr.RefreshToken
			if plain.RefreshToken != "" {
				current = plain.RefreshToken
			}

			By("a narrower scope")
			narrow := expectTokenResponse(e.refresh(ctx, c, current, "openid"), "narrowing refresh")
			Expect(grantedScopes(narrow, []string{"openid"})).To(ConsistOf("openid"), "the narrower scope is granted")
			if narrow.RefreshToken != "" {
				current = narrow.RefreshToken
			}

			By("a wider scope")
			wide := e.refresh(ctx, c, current, strings.Join(append(slices.Clone(granted), widen), " "))
			if wide.Status == 200 {
				got := expectTokenResponse(wide, "widening refresh")
				Expect(grantedScopes(got, append(slices.Clone(granted), widen))).NotTo(ContainElement(widen),
					"scope %q was not in the original grant and must not be added by a refresh (RFC 6749 6)", widen)
			} else {
				expectTokenError(wide, oauth.InvalidScope)
			}
		})

		It("R2: a refresh token used by another client is refused", check("R2", "rfc6749"), func(ctx SpecContext) {
			owner := e.client(flows.RoleConfidential)
			other := e.confidential(flows.RoleOther)
			if other.ClientID == owner.ClientID {
				Skip("the profile's other client is the confidential client itself")
			}
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			expectTokenError(e.refresh(ctx, other, tr.RefreshToken, ""), oauth.InvalidGrant, oauth.InvalidClient, oauth.UnauthorizedClient)
		})

		It("R3: a confidential client refreshing without authenticating gets invalid_client", check("R3", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(flows.RoleConfidential)
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			form := map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}
			r := e.post(ctx, "refresh", e.metadata().TokenEndpoint, c, authClientID, form)
			expectTokenError(r, oauth.InvalidClient)
		})

		It("R4: a rotated refresh token replayed is refused and revokes the whole token family", check("R4", "rfc9700"), func(ctx SpecContext) {
			e.need(e.target.Features.RefreshRotation, "refresh_rotation")
			c := e.client(flows.RoleConfidential)
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			rotated := expectTokenResponse(e.refresh(ctx, c, tr.RefreshToken, ""), "first refresh")
			Expect(rotated.RefreshToken).NotTo(BeEmpty(), "the refresh response carries a new refresh token (rotation)")
			Expect(rotated.RefreshToken != tr.RefreshToken).To(BeTrue(), "the new refresh token differs from the old")

			By("replaying the rotated-out refresh token")
			expectTokenError(e.refresh(ctx, c, tr.RefreshToken, ""), oauth.InvalidGrant)

			By("using the newest refresh token of the family after the replay")
			expectTokenError(e.refresh(ctx, c, rotated.RefreshToken, ""), oauth.InvalidGrant)

			By("the family's access tokens after the replay")
			for _, at := range []struct{ what, token string }{{"the first access token", tr.AccessToken}, {"the access token of the rotation", rotated.AccessToken}} {
				active, via, observed := e.accessTokenActive(ctx, at.token)
				if !observed {
					AddReportEntry("family access tokens", "not observed: the profile claims neither introspection nor userinfo", ReportEntryVisibilityAlways)
					break
				}
				Expect(active).To(BeFalse(), "%s of the family is still active (%s) after the replay revoked the family (RFC 9700 4.14.2)", at.what, via)
			}
		})

		It("R6: a refresh after the refresh token's lifetime, or after its revocation, gets invalid_grant", check("R6", "rfc6749", "rfc7009"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			canRevoke := e.target.Features.Revocation && e.metadata().RevocationEndpoint != ""
			lifetime := e.target.Lifetimes.RefreshToken
			canExpire := e.target.Features.AdminClock && lifetime > 0 ||
				e.target.Features.ShortLifetimes && lifetime > 0 && lifetime <= 2*time.Minute
			if !canRevoke && !canExpire {
				Skip("needs features.revocation, or lifetimes.refresh_token with features.admin_clock or short_lifetimes")
			}
			if canRevoke {
				By("after revocation")
				tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
				r := e.revoke(ctx, c, tr.RefreshToken, "refresh_token")
				Expect(r.Status).To(Equal(200), "revocation; got %s", r.describe())
				expectTokenError(e.refresh(ctx, c, tr.RefreshToken, ""), oauth.InvalidGrant)
			}
			if canExpire {
				By("after the refresh token's lifetime")
				tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
				e.passTime(ctx, lifetime, "the refresh token")
				expectTokenError(e.refresh(ctx, c, tr.RefreshToken, ""), oauth.InvalidGrant)
			}
		})
	})
}
