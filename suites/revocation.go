package suites

import (
	"context"
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
)

// revoke asks the revocation endpoint to revoke token as client c (or with the
// endpoint's own authentication, when the profile names one); hint is the
// token_type_hint ("" for none).
func (e *env) revoke(ctx context.Context, c *flows.Client, token, hint string) *response {
	e.need(e.target.Features.Revocation, "revocation")
	endpoint := e.endpoint("revocation_endpoint", e.metadata().RevocationEndpoint)
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if auth, _ := e.target.EndpointAuthOf("revocation"); auth != flows.EndpointAuthClient {
		return e.postAs(ctx, "revoke", "revocation", endpoint, flows.RoleConfidential, form)
	}
	return e.post(ctx, "revoke", endpoint, c, authProfile, form)
}

func (e *env) declareRevocation() {
	Describe("revocation", Label("revocation"), func() {
		It("V1: revoking an unknown token answers 200", check("V1", "rfc7009"), func(ctx SpecContext) {
			c := e.confidential(flows.RoleConfidential)
			r := e.revoke(ctx, c, "grantbench-unknown-token", "")
			Expect(r.Status).To(Equal(http.StatusOK), "an invalid token is not an error (RFC 7009 2.2); got %s", r.describe())
		})

		It("V2: another client cannot revoke a client's token", check("V2", "rfc7009"), func(ctx SpecContext) {
			e.needClientAuth("revocation")
			e.needObservableAccessTokens()
			owner := e.confidential(flows.RoleConfidential)
			other := e.confidential(flows.RoleOther)
			if other.ClientID == owner.ClientID {
				Skip("the profile's other client is the confidential client itself")
			}
			e.need(e.target.Features.Introspection, "introspection")
			token, _ := e.accessToken(ctx)

			r := e.revoke(ctx, other, token, "access_token")
			Expect(r.Status).To(BeNumerically("<", 500), "revocation by another client; got %s", r.describe())

			after := e.introspect(ctx, token)
			Expect(after.object()).To(HaveKeyWithValue("active", true),
				"the token must survive another client's revocation request (RFC 7009 2.1); revocation said %s, introspection says %s", r.describe(), after.describe())
		})
	})
}
