package mockprovider

import (
	"encoding/json"
	"net/http"

	"github.com/grantbench/grantbench/oauth"
)

// renderMetadata builds the discovery document once (RFC 8414 2, OIDC
// Discovery 3); both well-known paths serve it.
// issuerField is the issuer the document names: p.issuer, except for the
// metadata_issuer_mismatch defect's copy; alg is the signing algorithm it
// advertises: the configured one, except for the unadvertised_alg defect's.
func (p *Provider) renderMetadata(issuerField, alg string) ([]byte, error) {
	grants := []string{}
	responseTypes := []string{}
	seen := map[string]bool{}
	for _, c := range p.cfg.Clients {
		for _, g := range c.GrantTypes {
			if seen[g] || !p.profileAllowsGrant(g) {
				continue
			}
			seen[g] = true
			switch g {
			case GrantDeviceCode:
				grants = append(grants, DeviceCodeGrantURN)
			case GrantTokenExchange:
				grants = append(grants, TokenExchangeGrantURN)
			case GrantJWTBearer:
				grants = append(grants, JWTBearerGrantURN)
			case GrantImplicit:
				grants = append(grants, GrantImplicit)
				responseTypes = append(responseTypes, "token")
			case GrantAuthorizationCode:
				grants = append(grants, g)
				responseTypes = append([]string{"code"}, responseTypes...)
			default:
				grants = append(grants, g)
			}
		}
	}
	iss := p.issuer
	doc := map[string]any{
		"issuer":                        issuerField,
		"authorization_endpoint":        iss + "/authorize",
		"token_endpoint":                iss + "/token",
		"jwks_uri":                      iss + "/jwks",
		"userinfo_endpoint":             iss + "/userinfo",
		"introspection_endpoint":        iss + "/introspect",
		"revocation_endpoint":           iss + "/revoke",
		"device_authorization_endpoint": iss + "/device_authorization",
		"end_session_endpoint":          iss + "/end_session",
		// RFC 9126 5.
		"pushed_authorization_request_endpoint":         iss + "/par",
		"require_pushed_authorization_requests":         p.cfg.RequirePushedAuthorizationRequests,
		"scopes_supported":                              p.cfg.Scopes,
		"response_types_supported":                      responseTypes,
		"response_modes_supported":                      []string{"query", "fragment"},
		"grant_types_supported":                         grants,
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{alg},
		"token_endpoint_auth_methods_supported":         p.authMethodsSupported(true),
		"introspection_endpoint_auth_methods_supported": p.authMethodsSupported(false),
		"revocation_endpoint_auth_methods_supported":    p.authMethodsSupported(true),
		// The algorithms of client assertions (OIDC Discovery 3, RFC 8414 2).
		"token_endpoint_auth_signing_alg_values_supported":         p.assertionAlgsSupported(),
		"introspection_endpoint_auth_signing_alg_values_supported": p.assertionAlgsSupported(),
		"revocation_endpoint_auth_signing_alg_values_supported":    p.assertionAlgsSupported(),
		"code_challenge_methods_supported":                         []string{oauth.PKCES256},
		"authorization_response_iss_parameter_supported":           true,
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "c_hash",
			"name", "given_name", "family_name", "preferred_username", "email", "email_verified"},
		"prompt_values_supported": []string{"none", "login", "consent"},
	}
	if p.cfg.Registration.Enabled {
		doc["registration_endpoint"] = iss + "/register"
	}
	if p.cfg.AccessTokenFormat == AccessTokenJWT {
		doc["access_token_signing_alg_values_supported"] = []string{alg}
	}
	if p.cfg.Behaviour.UnadvertisedEndpoints {
		// Served all the same, as a provider whose introspection and
		// revocation live on an admin port serves them elsewhere.
		for _, k := range []string{"introspection_endpoint", "revocation_endpoint",
			"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			delete(doc, k)
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.methodNotAllowed(w, "GET")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("Access-Control-Allow-Origin", "*")
	if p.defect(nil, dMetadataIssuerMismatch) {
		_, _ = w.Write(p.metadataMismatch)
		return
	}
	if p.defect(nil, dUnadvertisedAlg) {
		_, _ = w.Write(p.metadataOtherAlg)
		return
	}
	_, _ = w.Write(p.metadata)
}

// handleJWKS publishes the public signing keys (RFC 7517): the current key
// and any retired key whose tokens have not all expired.
func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.methodNotAllowed(w, "GET")
		return
	}
	p.rp.jwksFetches.Add(1)
	body, noKid, err := p.rpJWKS()
	if !noKid {
		body, err = p.keys.jwksJSON(p.now(), p.defect(nil, dJWKSLeaksPrivate), p.defect(nil, dRotationPruneDropsCurrent))
	}
	if err != nil {
		p.log.Error("jwks render failed", "err", err)
		http.Error(w, "jwks unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	// Short caching: clients must see a rotation soon.
	h.Set("Cache-Control", "public, max-age=30")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
