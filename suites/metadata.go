package suites

import (
	"encoding/json"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
)

// privateJWKMembers are the JWK members that carry private key material
// (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

func (e *env) declareMetadata() {
	Describe("metadata", Label("metadata"), func() {
		It("M1: both metadata documents name the issuer they were fetched for, list the required fields and S256", check("M1", "rfc8414", "rfc9700", "oidc"), func(ctx SpecContext) {
			oidcURL, rfcURL, err := flows.DiscoveryURLs(e.target.Issuer)
			Expect(err).NotTo(HaveOccurred())

			oidc := e.get(ctx, "discovery", oidcURL, http.Header{"Accept": {"application/json"}})
			rfc := e.get(ctx, "discovery", rfcURL, http.Header{"Accept": {"application/json"}})
			Expect(oidc.Status == http.StatusOK || rfc.Status == http.StatusOK).To(BeTrue(),
				"neither %s (%s) nor %s (%s) answered 200", oidcURL, oidc.describe(), rfcURL, rfc.describe())

			for _, doc := range []struct {
				url  string
				r    *response
				oidc bool
			}{{oidcURL, oidc, true}, {rfcURL, rfc, false}} {
				if doc.r.Status == http.StatusNotFound {
					// RFC 8414 metadata is optional for an OpenID provider and
					// vice versa; one of them answered above.
					AddReportEntry("not served", doc.url)
					continue
				}
				Expect(doc.r.Status).To(Equal(http.StatusOK), "GET %s", doc.url)
				Expect(doc.r.isJSON()).To(BeTrue(), "%s Content-Type is JSON; got %q", doc.url, doc.r.Header.Get("Content-Type"))
				md := doc.r.object()
				Expect(md).NotTo(BeNil(), "%s is a JSON object", doc.url)
				Expect(md["issuer"]).To(Equal(e.target.Issuer), "%s: issuer must be identical to the issuer the URL was built from (RFC 8414 3.3)", doc.url)
				required := []string{"issuer", "token_endpoint", "response_types_supported"}
				if doc.oidc {
					required = append(required, "authorization_endpoint", "jwks_uri", "subject_types_supported", "id_token_signing_alg_values_supported")
				}
				for _, field := range required {
					Expect(md).To(HaveKey(field), "%s: required field %s", doc.url, field)
				}
				Expect(md["code_challenge_methods_supported"]).To(ContainElement("S256"), "%s: code_challenge_methods_supported lists S256 (RFC 9700 2.1.1)", doc.url)
				if algs, ok := md["id_token_signing_alg_values_supported"].([]any); ok {
					Expect(algs).NotTo(ContainElement("none"), "%s: id_token_signing_alg_values_supported must not offer none", doc.url)
				}
			}
		})

		It("M2: jwks_uri serves a valid JWK set without private key members", check("M2", "rfc7517"), func(ctx SpecContext) {
			uri := e.endpoint("jwks_uri", e.metadata().JWKSURI)
			r := e.get(ctx, "jwks", uri, http.Header{"Accept": {"application/json"}})
			Expect(r.Status).To(Equal(http.StatusOK), "GET jwks_uri: %s", r.describe())
			Expect(r.isJSON()).To(BeTrue(), "jwks_uri Content-Type is JSON; got %q", r.Header.Get("Content-Type"))

			var doc struct {
				Keys []map[string]json.RawMessage `json:"keys"`
			}
			Expect(json.Unmarshal(r.Body, &doc)).To(Succeed(), "the JWK set is a JSON object with a keys array")
			Expect(doc.Keys).NotTo(BeEmpty(), "the JWK set holds at least one key")
			for i, member := range doc.Keys {
				for _, private := range privateJWKMembers {
					Expect(member).NotTo(HaveKey(private), "key %d carries the private member %q", i, private)
				}
				Expect(member).To(HaveKey("kty"), "key %d: kty is required (RFC 7517 4.1)", i)
				raw, err := json.Marshal(member)
				Expect(err).NotTo(HaveOccurred())
				var key jose.JSONWebKey
				Expect(key.UnmarshalJSON(raw)).To(Succeed(), "key %d parses as a JWK", i)
				Expect(key.Valid()).To(BeTrue(), "key %d is a valid key", i)
				Expect(key.IsPublic()).To(BeTrue(), "key %d is a public key", i)
				Expect(key.KeyID).NotTo(BeEmpty(), "key %d has a kid, so tokens can name it", i)
				if key.Use != "" {
					Expect(key.Use).To(BeElementOf("sig", "enc"), "key %d: use", i)
				}
			}
		})
	})
}
