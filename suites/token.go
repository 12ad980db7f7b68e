package suites

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
)

// issuedTokens is a code flow's tokens with what the T checks compare them to.
type issuedTokens struct {
	client *flows.Client
	auth   *flows.Authorization
	tr     tokenResponse
	// now is the provider's time right after the tokens were issued.
	now time.Time
}

// issue runs the code flow for the confidential client with openid.
func (e *env) issue(ctx context.Context) issuedTokens {
	c := e.client(flows.RoleConfidential)
	auth, tr := e.codeTokens(ctx, flows.RoleConfidential, authOptions{})
	Expect(tr.IDToken).NotTo(BeEmpty(), "a code flow with scope openid returns an id_token (OIDC Core 3.1.3.3)")
	return issuedTokens{client: c, auth: auth, tr: tr, now: e.providerNow(ctx)}
}

// idToken verifies the ID token's signature and returns it. Any asymmetric
// alg the JWK set can verify is taken: whether it is the advertised one is
// T1's to judge, the other T checks judge the claims.
func (e *env) idToken(ctx context.Context, it issuedTokens) *VerifiedJWT {
	tok, err := VerifyJWT(it.tr.IDToken, e.jwks(ctx), AsymmetricAlgs)
	Expect(err).NotTo(HaveOccurred(), "ID token signature")
	return tok
}

// jwtAccessToken verifies a JWT access token's signature and returns it,
// skipping when the profile does not claim JWT access tokens.
func (e *env) jwtAccessToken(ctx context.Context, it issuedTokens) *VerifiedJWT {
	e.need(e.target.Features.JWTAccessTokens, "jwt_access_tokens")
	Expect(strings.Count(it.tr.AccessToken, ".")).To(Equal(2), "the profile claims JWT access tokens; the access token is not a compact JWS")
	tok, err := VerifyJWT(it.tr.AccessToken, e.jwks(ctx), AsymmetricAlgs)
	Expect(err).NotTo(HaveOccurred(), "JWT access token signature")
	return tok
}

func (e *env) declareToken() {
	Describe("token validation", Label("token"), func() {
		It("T1: the ID token and a JWT access token verify with a jwks_uri key found by kid, with an advertised alg, never none", check("T1", "oidc", "rfc9068", "rfc7517"), func(ctx SpecContext) {
			it := e.issue(ctx)
			jwks := e.jwks(ctx)
			// Each property is its own assertion, in this order, so the
			// failure names the one that is wrong.
			alg, err := HeaderAlg(it.tr.IDToken)
			Expect(err).NotTo(HaveOccurred(), "ID token header")
			Expect(strings.EqualFold(alg, "none")).To(BeFalse(), "the ID token is unsigned (alg none); OIDC Core 2: ID tokens MUST be signed")
			Expect(e.signingAlgs()).To(ContainElement(alg), "ID token alg %q is not among the advertised id_token_signing_alg_values_supported", alg)
			_, err = VerifyJWT(it.tr.IDToken, jwks, []string{alg})
			Expect(err).NotTo(HaveOccurred(), "ID token signature with the jwks_uri key named by its kid")
			if e.target.Features.JWTAccessTokens {
				Expect(strings.Count(it.tr.AccessToken, ".")).To(Equal(2), "the profile claims JWT access tokens; the access token is not a compact JWS")
				atAlg, err := HeaderAlg(it.tr.AccessToken)
				Expect(err).NotTo(HaveOccurred(), "JWT access token header")
				Expect(strings.EqualFold(atAlg, "none")).To(BeFalse(), "the JWT access token is unsigned (alg none); RFC 9068 2.1: it MUST NOT use none")
				_, err = VerifyJWT(it.tr.AccessToken, jwks, []string{atAlg})
				Expect(err).NotTo(HaveOccurred(), "JWT access token signature with the jwks_uri key named by its kid")
			}
		})

		It("T2: iss is the discovery issuer, aud holds the client_id, azp names the client", check("T2", "oidc", "rfc9068"), func(ctx SpecContext) {
			it := e.issue(ctx)
			id := e.idToken(ctx, it)
			Expect(CheckIssuer(id.Claims, e.issuer)).To(Succeed(), "ID token")
			Expect(CheckAudience(id.Claims, it.client.ClientID)).To(Succeed(), "ID token")
			Expect(CheckAuthorizedParty(id.Claims, it.client.ClientID)).To(Succeed(), "ID token")
			if e.target.Features.JWTAccessTokens {
				at := e.jwtAccessToken(ctx, it)
				Expect(CheckIssuer(at.Claims, e.issuer)).To(Succeed(), "JWT access token")
				clientID, _ := at.Claims.String("client_id")
				Expect(clientID).To(Equal(it.client.ClientID), "JWT access token claim client_id (RFC 9068 2.2)")
				_, err := at.Claims.Audiences()
				Expect(err).NotTo(HaveOccurred(), "JWT access token claim aud (RFC 9068 2.2 requires it)")
			}
		})

		It("T3: exp, iat and nbf are present and sane, and the access token's exp matches expires_in", check("T3", "rfc9068", "oidc"), func(ctx SpecContext) {
			it := e.issue(ctx)
			id := e.idToken(ctx, it)
			Expect(CheckIssuedAt(id.Claims, it.now, clockSkew)).To(Succeed(), "ID token")
			Expect(CheckExpiry(id.Claims, it.now, clockSkew)).To(Succeed(), "ID token")
			Expect(CheckNotBefore(id.Claims, it.now, clockSkew)).To(Succeed(), "ID token")
			if e.target.Features.JWTAccessTokens {
				at := e.jwtAccessToken(ctx, it)
				Expect(CheckIssuedAt(at.Claims, it.now, clockSkew)).To(Succeed(), "JWT access token")
				Expect(CheckExpiry(at.Claims, it.now, clockSkew)).To(Succeed(), "JWT access token")
				Expect(CheckNotBefore(at.Claims, it.now, clockSkew)).To(Succeed(), "JWT access token")
				Expect(it.tr.HasExpiresIn).To(BeTrue(), "the token response has expires_in to compare exp with")
				Expect(CheckExpiresIn(at.Claims, it.tr.ExpiresIn, 5*time.Second)).To(Succeed(), "JWT access token")
			}
		})

		It("T4: the ID token echoes the nonce, and at_hash and c_hash are correct", check("T4", "oidc"), func(ctx SpecContext) {
			it := e.issue(ctx)
			id := e.idToken(ctx, it)
			Expect(it.auth.Nonce).NotTo(BeEmpty(), "the flow sent a nonce")
			Expect(CheckNonce(id.Claims, it.auth.Nonce)).To(Succeed(), "ID token")
			Expect(CheckHashClaim(id.Claims, "at_hash", it.tr.AccessToken, id.Alg, false)).To(Succeed(), "ID token")
			Expect(CheckHashClaim(id.Claims, "c_hash", it.auth.Code(), id.Alg, false)).To(Succeed(), "ID token")
		})

		It("T5: a JWT access token's typ header is at+jwt", check("T5", "rfc9068"), func(ctx SpecContext) {
			it := e.issue(ctx)
			at := e.jwtAccessToken(ctx, it)
			Expect(strings.ToLower(at.Typ)).To(BeElementOf("at+jwt", "application/at+jwt"), "JWT access token header typ (RFC 9068 2.1)")
		})
	})
}
