package suites

import (
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/flows"
)

// authParams is a well-formed authorization code request for client c: PKCE
// S256, state and nonce, scope openid plus the client's other scopes.
func authParams(c *flows.Client, redirectURI string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	params := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ClientID},
		"scope":                 {authScope(c)},
		"state":                 {"gb-state-" + oauth2.GenerateVerifier()[:16]},
		"nonce":                 {"gb-nonce-" + oauth2.GenerateVerifier()[:16]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	if redirectURI != "" {
		params.Set("redirect_uri", redirectURI)
	}
	return params, verifier
}

// authScope is the scope an authorization request of c asks for: openid first.
func authScope(c *flows.Client) string {
	scopes := []string{"openid"}
	for _, s := range c.Scopes {
		if s != "openid" {
			scopes = append(scopes, s)
		}
	}
	return strings.Join(scopes, " ")
}

// redirectClient returns the confidential client (or the public one) with its
// registered redirect URI, skipping when the profile gives neither.
func (e *env) redirectClient() *flows.Client {
	for _, role := range []flows.Role{flows.RoleConfidential, flows.RolePublic} {
		if c, err := e.target.Client(role); err == nil && c.RedirectURI != "" {
			return c
		}
	}
	Skip("the target profile has no confidential or public client with a redirect_uri")
	return nil
}

// expectNoRedirectTo asserts the dangerous outcome did not happen: the provider
// did not send the user agent to uri, with an error or otherwise.
func expectNoRedirectTo(r *response, uri, what string) {
	Expect(redirectsTo(r, uri)).To(BeFalse(), "%s: the provider redirected to %s; got %s", what, uri, r.describe())
}

// expectErrorPage asserts the provider answered with an error page of its own
// (an error status, no redirect anywhere). That is the verdict; an error page
// served as a 5xx still keeps the user agent where it is, so its status is a
// warning of its own (a 4xx says "your request", a 5xx "our fault") rather
// than a failure that would hide the verdict.
func (e *env) expectErrorPage(r *response, what string) {
	Expect(r.Status).To(BeNumerically(">=", 400), "%s: want an error page (4xx); got %s", what, r.describe())
	if r.Status >= 500 {
		e.warn("%s: the provider's error page answered HTTP %d; a refused request is the client's error, a 4xx (RFC 9110 15.5), and a 5xx reads as an outage to monitoring", what, r.Status)
	}
}

func (e *env) declareRedirect() {
	Describe("redirect URI, state and mix-up", Label("redirect"), func() {
		It("B1: an unregistered redirect_uri gets an error page, never a redirect to it", check("B1", "rfc6749", "rfc9700"), func(ctx SpecContext) {
			c := e.redirectClient()
			evil := "https://attacker.invalid/callback"
			params, _ := authParams(c, evil)
			r := e.authorize(ctx, params)
			expectNoRedirectTo(r, evil, "unregistered redirect_uri")
			e.expectErrorPage(r, "unregistered redirect_uri")
		})

		It("B2: the registered redirect_uri with a changed query, path suffix or /../ is refused (exact match)", check("B2", "rfc9700", "rfc6749"), func(ctx SpecContext) {
			c := e.redirectClient()
			registered, err := url.Parse(c.RedirectURI)
			Expect(err).NotTo(HaveOccurred())

			withQuery := *registered
			q := withQuery.Query()
			q.Set("grantbench", "added")
			withQuery.RawQuery = q.Encode()
			suffix := *registered
			suffix.Path = strings.TrimSuffix(suffix.Path, "/") + "/grantbench-extra"
			dotdot := *registered
			dotdot.Path = strings.TrimSuffix(dotdot.Path, "/") + "/../grantbench-elsewhere"

			for _, variant := range []struct{ what, uri string }{
				{"query added", withQuery.String()},
				{"path suffix", suffix.String()},
				{"/../ in the path", dotdot.String()},
			} {
				params, _ := authParams(c, variant.uri)
				r := e.authorize(ctx, params)
				expectNoRedirectTo(r, variant.uri, variant.what)
				e.expectErrorPage(r, variant.what)
			}
		})

		It("B3: an OpenID request without redirect_uri gets an error page, no redirect", check("B3", "oidc", "rfc6749"), func(ctx SpecContext) {
			c := e.redirectClient()
			params, _ := authParams(c, "")
			r := e.authorize(ctx, params)
			Expect(r.Status < 300 || r.Status > 399 || r.Location == nil || sameHost(r.Location, e.target.Issuer)).To(BeTrue(),
				"without redirect_uri the provider must not redirect to a client (OIDC Core 3.1.2.1 requires it; RFC 6749 3.1.2.3 with several registered); got %s", r.describe())
			e.expectErrorPage(r, "missing redirect_uri")
		})

		It("B8: the state in the authorization response is byte-identical to the one sent", check("B8", "rfc6749"), func(ctx SpecContext) {
			// Characters that survive only if the provider neither trims, decodes
			// twice nor re-encodes the value.
			state := "gb~state.-_ /+=%&?é" + oauth2.GenerateVerifier()[:8]
			auth := e.authorization(ctx, flows.RoleConfidential, authOptions{state: state})
			Expect(auth.Response).To(HaveKey("state"), "the authorization response carries state")
			Expect(auth.ReturnedState()).To(Equal(state), "state must come back byte for byte")
		})
	})
}

// sameHost reports whether u points at the issuer's host.
func sameHost(u *url.URL, issuer string) bool {
	iss, err := url.Parse(issuer)
	return err == nil && u.Host == iss.Host
}
