package mockprovider

// Profiles: one switch that turns the provider into an authorization server
// of a security profile, whatever the rest of the configuration says.

import (
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ProfileFAPI2 makes the provider a FAPI 2.0 Security Profile authorization
// server (config profile: fapi2, grantbench provider --profile fapi2):
//   - pushed authorization requests required for every client (5.3.2.2);
//   - DPoP-bound access tokens required, when the provider has DPoP (5.3.2.1,
//     5.3.3);
//   - private_key_jwt the only client authentication, so no public clients
//     (5.3.2.1: confidential clients only; 5.3.3.4 without mTLS);
//   - no implicit and no password grant (5.3.2.2 response_type code only;
//     5.3.2.1 no resource owner password credentials);
//   - authorization codes live at most 60 seconds (5.3.2.1);
//   - ES256 or PS256 for the provider's signatures and for client assertions
//     (5.4: PS256, ES256 or EdDSA; the mock signs ES256).
const ProfileFAPI2 = "fapi2"

// Profiles lists the profile names the configuration accepts ("" is none).
var Profiles = []string{ProfileFAPI2}

// fapi2MaxCodeLifetime bounds authorization codes (FAPI 2.0 Security
// Profile 5.3.2.1: "shall issue authorization codes with a maximum lifetime
// of 60 seconds").
const fapi2MaxCodeLifetime = 60 * time.Second

// fapi2AssertionAlgs are the client assertion algorithms of the fapi2
// profile.
var fapi2AssertionAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.PS256}

func validateProfile(name string) error {
	switch name {
	case "", ProfileFAPI2:
		return nil
	}
	return fieldErr("profile", "%q is not one of %v (or empty)", name, Profiles)
}

// withProfile returns the configuration as its profile makes it: the
// settings a profile fixes replace the configured ones.
func (c Config) withProfile() Config {
	if c.Profile != ProfileFAPI2 {
		return c
	}
	c.RequirePushedAuthorizationRequests = true
	c.SigningAlg = AlgES256
	c.Lifetimes.AuthorizationCode = min(c.Lifetimes.AuthorizationCode, fapi2MaxCodeLifetime)
	return c
}

// fapi2 reports whether the provider runs the fapi2 profile.
func (p *Provider) fapi2() bool { return p.cfg.Profile == ProfileFAPI2 }

// profileRefusesAuth returns the refusal of an authenticated client whose
// method the profile does not allow, nil when it may go on.
func (p *Provider) profileRefusesAuth(c *Client) *oauthError {
	if !p.fapi2() || c.TokenEndpointAuthMethod == AuthPrivateKeyJWT {
		return nil
	}
	method := c.TokenEndpointAuthMethod
	if method == "" {
		method = "a client secret"
		if c.Public {
			method = AuthNone
		}
	}
	return invalidClient(fmt.Sprintf("the fapi2 profile allows private_key_jwt only, and this client authenticates with %s (FAPI 2.0 Security Profile 5.3.2.1)", method))
}

// profileAllowsGrant reports whether the profile lets any client use grant.
func (p *Provider) profileAllowsGrant(grant string) bool {
	return !p.fapi2() || grant != GrantImplicit && grant != GrantPassword
}

// authMethodsSupported is token_endpoint_auth_methods_supported: every
// method, or private_key_jwt alone under the fapi2 profile.
func (p *Provider) authMethodsSupported(withNone bool) []string {
	if p.fapi2() {
		return []string{AuthPrivateKeyJWT}
	}
	methods := []string{AuthClientSecretBasic, AuthClientSecretPost, AuthClientSecretJWT, AuthPrivateKeyJWT}
	if withNone {
		methods = append(methods, AuthNone)
	}
	return methods
}

// assertionAlgsSupported is token_endpoint_auth_signing_alg_values_supported.
func (p *Provider) assertionAlgsSupported() []string {
	if p.fapi2() {
		return algStrings(fapi2AssertionAlgs)
	}
	return AssertionSigningAlgs()
}

func algStrings(algs []jose.SignatureAlgorithm) []string {
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = string(a)
	}
	return out
}
