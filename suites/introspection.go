package suites

import (
	"context"
	"net/http"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// introspect asks the introspection endpoint about token as the confidential
// client, and returns the response.
func (e *env) introspect(ctx context.Context, token string) *response {
	e.need(e.target.Features.Introspection, "introspection")
	endpoint := e.endpoint("introspection_endpoint", e.metadata().IntrospectionEndpoint)
	return e.postAs(ctx, "introspect", "introspection", endpoint, flows.RoleConfidential, url.Values{"token": {token}})
}

// postAs posts form to an introspection or revocation endpoint (name, as
// the profile's endpoints section names it) authenticated as the profile
// says: as the client of role by default, or with the endpoint's own bearer
// token, or not at all.
func (e *env) postAs(ctx context.Context, step, name, endpoint string, role flows.Role, form url.Values) *response {
	switch auth, token := e.target.EndpointAuthOf(name); auth {
	case flows.EndpointAuthBearer:
		return e.postRaw(ctx, step, endpoint, http.Header{"Authorization": {"Bearer " + token}}, form.Encode())
	case flows.EndpointAuthNone:
		return e.post(ctx, step, endpoint, nil, authNone, form)
	}
	return e.post(ctx, step, endpoint, e.confidential(role), authProfile, form)
}

// needClientAuth skips a check of who may call an endpoint when the profile
// says the harness reaches it without the client's authentication.
func (e *env) needClientAuth(name string) {
	if auth, _ := e.target.EndpointAuthOf(name); auth != flows.EndpointAuthClient {
		e.skipf("the profile's %s endpoint is called with auth: %s (endpoints.%s), not by the client, so who may call it is not the client's to show", name, auth, name)
	}
}

// expectInactive asserts RFC 7662 2.2's answer for a token that is not active:
// 200 with {"active": false} and no other member.
func expectInactive(r *response, what string) {
	Expect(r.Status).To(Equal(http.StatusOK), "%s: introspection status; got %s", what, r.describe())
	obj := r.object()
	Expect(obj).NotTo(BeNil(), "%s: introspection answers a JSON object; got %s", what, r.describe())
	Expect(obj).To(HaveKeyWithValue("active", false), "%s: active must be false; got %s", what, r.describe())
	Expect(obj).To(HaveLen(1), "%s: an inactive token's response must say nothing else (RFC 7662 2.2); got %s", what, r.describe())
}

// accessToken gets an access token for the confidential client through the
// code flow: every provider lets a code-flow client have one, while client
// credentials are often reserved to other clients (C1 checks that grant).
func (e *env) accessToken(ctx context.Context) (string, time.Duration) {
	_, tr := e.codeTokens(ctx, flows.RoleConfidential, authOptions{})
	return tr.AccessToken, e.accessLifetime(tr)
}

// canIntrospect reports whether the profile claims introspection and the
// provider advertises its endpoint.
func (e *env) canIntrospect() bool {
	return e.target.Features.Introspection && e.metadata().IntrospectionEndpoint != ""
}

// canUserinfo reports whether the profile claims userinfo and the provider
// advertises its endpoint.
func (e *env) canUserinfo() bool {
	return e.target.Features.UserInfo && e.metadata().UserinfoEndpoint != ""
}

// accessTokenActive asks the provider whether an access token is still
// usable: introspection where it can (RFC 7662 active), else userinfo (200
// usable, 401 not: RFC 6750 3.1). via names the endpoint that answered; ok is
// false when the profile offers neither, so nothing could be observed.
func (e *env) accessTokenActive(ctx context.Context, token string) (active bool, via string, ok bool) {
	switch {
	case e.canIntrospect():
		r := e.introspect(ctx, token)
		Expect(r.Status).To(Equal(http.StatusOK), "introspection status; got %s", r.describe())
		active, isBool := r.object()["active"].(bool)
		Expect(isBool).To(BeTrue(), "introspection answers a boolean active (RFC 7662 2.2); got %s", r.describe())
		return active, "introspection", true
	case e.canUserinfo():
		r := e.userinfo(ctx, token)
		Expect(r.Status).To(BeElementOf(http.StatusOK, http.StatusUnauthorized), "userinfo accepts (200) or refuses (401) the access token; got %s", r.describe())
		return r.Status == http.StatusOK, "userinfo", true
	}
	return false, "", false
}

func (e *env) declareIntrospection() {
	Describe("introspection", Label("introspection"), func() {
		It("I1: an unknown, expired or revoked token introspects as {\"active\":false} and nothing else", check("I1", "rfc7662"), func(ctx SpecContext) {
			expectInactive(e.introspect(ctx, "grantbench-unknown-token"), "unknown token")

			if e.target.Features.ResourceServerTokens {
				AddReportEntry("I1: revoked and expired access tokens", "not introspected: features.resource_server_tokens", ReportEntryVisibilityFailureOrVerbose)
				return
			}
			if e.target.Features.Revocation && e.metadata().RevocationEndpoint != "" {
				By("a revoked access token")
				token, _ := e.accessToken(ctx)
				active := e.introspect(ctx, token)
				Expect(active.object()).To(HaveKeyWithValue("active", true), "a fresh token is active; got %s", active.describe())
				r := e.revoke(ctx, e.confidential(flows.RoleConfidential), token, "access_token")
				Expect(r.Status).To(Equal(http.StatusOK), "revocation; got %s", r.describe())
				expectInactive(e.introspect(ctx, token), "revoked token")
			}
			if e.target.Features.AdminClock {
				By("an expired access token")
				token, lifetime := e.accessToken(ctx)
				Expect(lifetime).To(BeNumerically(">", 0), "expires_in of the token")
				e.passTime(ctx, lifetime, "the access token")
				expectInactive(e.introspect(ctx, token), "expired token")
			}
		})

		It("I2: introspection without caller authentication is refused with invalid_client", check("I2", "rfc7662"), func(ctx SpecContext) {
			e.need(e.target.Features.Introspection, "introspection")
			endpoint := e.endpoint("introspection_endpoint", e.metadata().IntrospectionEndpoint)
			if auth, _ := e.target.EndpointAuthOf("introspection"); auth == flows.EndpointAuthNone {
				Skip("the profile's introspection endpoint takes no authentication (endpoints.introspection.auth: none)")
			}
			token, _ := e.accessToken(ctx)
			r := e.post(ctx, "introspect", endpoint, nil, authNone, url.Values{"token": {token}})
			Expect(r.object()).NotTo(HaveKey("active"), "no introspection answer without authentication (RFC 7662 2.1); got %s", r.describe())
			// RFC 6749 5.2 makes 401 a MUST only when the client sent the
			// Authorization header; without credentials 400 refuses as well.
			Expect(r.Status).To(BeElementOf(http.StatusUnauthorized, http.StatusBadRequest), "unauthenticated introspection is refused with 401 or 400; got %s", r.describe())
			// The MUST of RFC 7662 2.1 is the refusal itself; the shape of the
			// error (RFC 6749 5.2's JSON with invalid_client) is what 2.3 points
			// to, so a refusal in another shape is a warning, not a failure
			// (zitadel's OP answers 401 text/plain).
			if !r.isJSON() {
				e.warn("introspection without credentials was refused, but not with a JSON error (RFC 7662 2.3, RFC 6749 5.2); got %s", r.describe())
				return
			}
			switch code := r.str("error"); code {
			case oauth.InvalidClient.String():
			case oauth.InvalidRequest.String():
				e.warn("%s", "introspection without credentials was refused with invalid_request; RFC 6749 5.2 names invalid_client for a failed client authentication (\"no client authentication included\")")
			default:
				e.warn("introspection without credentials was refused with error %q; RFC 6749 5.2 names invalid_client", code)
			}
		})
	})
}
