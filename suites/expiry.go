package suites

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// userinfo calls the userinfo endpoint with an access token.
func (e *env) userinfo(ctx context.Context, accessToken string) *response {
	endpoint := e.endpoint("userinfo_endpoint", e.metadata().UserinfoEndpoint)
	return e.get(ctx, "userinfo", endpoint, http.Header{"Authorization": {"Bearer " + accessToken}})
}

// accessLifetime is how long the token response says its access token lives,
// else what the profile states.
func (e *env) accessLifetime(tr tokenResponse) time.Duration {
	if tr.HasExpiresIn && tr.ExpiresIn > 0 {
		return tr.ExpiresIn
	}
	return e.target.Lifetimes.AccessToken
}

// needObservableAccessTokens skips a check that observes an access token at
// userinfo or introspection when the profile says the tokens are for a
// resource server, which those endpoints need not accept.
func (e *env) needObservableAccessTokens() {
	if e.target.Features.ResourceServerTokens {
		Skip("the profile says access tokens are for a resource server (features.resource_server_tokens), so userinfo and introspection need not accept them")
	}
}

func (e *env) declareExpiry() {
	Describe("expiry and lifecycle", Label("expiry"), func() {
		It("E1: an access token past exp introspects inactive and is refused by userinfo (401)", check("E1", "rfc7662", "oidc"), func(ctx SpecContext) {
			e.needObservableAccessTokens()
			canIntrospect := e.target.Features.Introspection && e.metadata().IntrospectionEndpoint != ""
			canUserinfo := e.target.Features.UserInfo && e.metadata().UserinfoEndpoint != ""
			if !canIntrospect && !canUserinfo {
				Skip("needs features.introspection or features.userinfo to observe the expired token")
			}
			_, tr := e.codeTokens(ctx, flows.RoleConfidential, authOptions{})
			if canUserinfo {
				live := e.userinfo(ctx, tr.AccessToken)
				Expect(live.Status).To(Equal(http.StatusOK), "userinfo accepts the fresh token; got %s", live.describe())
			}
			e.passTime(ctx, e.accessLifetime(tr), "the access token")
			if canIntrospect {
				// Only the verdict: what else an inactive answer may say is I1's.
				r := e.introspect(ctx, tr.AccessToken)
				Expect(r.Status).To(Equal(http.StatusOK), "introspection status; got %s", r.describe())
				Expect(r.object()).To(HaveKeyWithValue("active", false), "an expired access token introspects as inactive; got %s", r.describe())
			}
			if canUserinfo {
				r := e.userinfo(ctx, tr.AccessToken)
				Expect(r.Status).To(Equal(http.StatusUnauthorized), "userinfo with an expired token; got %s", r.describe())
				Expect(r.Header.Get("WWW-Authenticate")).NotTo(BeEmpty(), "a 401 from userinfo carries WWW-Authenticate (RFC 6750 3)")
			}
		})

		It("E2: a refresh after the access token expired works and yields a fresh token", check("E2", "rfc6749"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			e.passTime(ctx, e.accessLifetime(tr), "the access token")
			fresh := expectTokenResponse(e.refresh(ctx, c, tr.RefreshToken, ""), "refresh after expiry")
			Expect(fresh.AccessToken != tr.AccessToken).To(BeTrue(), "a new access token, not the expired one")
			if e.target.Features.Introspection && e.metadata().IntrospectionEndpoint != "" && !e.target.Features.ResourceServerTokens {
				r := e.introspect(ctx, fresh.AccessToken)
				Expect(r.object()).To(HaveKeyWithValue("active", true), "the fresh token is active; got %s", r.describe())
			}
		})

		It("E3: a revoked refresh token stops working, and its access tokens should go inactive", check("E3", "rfc7009"), func(ctx SpecContext) {
			c := e.client(flows.RoleConfidential)
			tr := e.refreshTokens(ctx, flows.RoleConfidential, nil)
			r := e.revoke(ctx, c, tr.RefreshToken, "refresh_token")
			Expect(r.Status).To(Equal(http.StatusOK), "revocation; got %s", r.describe())
			expectTokenError(e.refresh(ctx, c, tr.RefreshToken, ""), oauth.InvalidGrant)
			// RFC 7009 2.1: the access tokens of its grant SHOULD go inactive
			// too. A SHOULD not met is a warning.
			active, via, observed := e.accessTokenActive(ctx, tr.AccessToken)
			if !observed {
				AddReportEntry("access token after the revocation", "not observed: the profile claims neither introspection nor userinfo", ReportEntryVisibilityAlways)
			} else if active {
				e.warn("the access token issued with the revoked refresh token is still active (%s); RFC 7009 2.1: revoking a refresh token SHOULD also invalidate the access tokens of the same grant", via)
			}
		})
	})
}
