package mockprovider

// Dynamic client registration (RFC 7591), off unless registration.enabled:
// a test registers its own client at start and uses it for every grant.

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/grantbench/grantbench/oauth"
)

// Registration configures dynamic client registration (RFC 7591).
type Registration struct {
	// Enabled serves POST /register and advertises registration_endpoint.
	Enabled bool `yaml:"enabled"`
	// InitialAccessToken, when set, must come as a Bearer token with every
	// registration request (RFC 7591 3); empty: open registration.
	InitialAccessToken string `yaml:"initial_access_token"`
	// MaxClients bounds how many clients may be registered at run time.
	MaxClients int `yaml:"max_clients"`
}

func (r *Registration) validate() error {
	if r.MaxClients < 1 || r.MaxClients > 100000 {
		return fieldErr("registration.max_clients", "must be between 1 and 100000, got %d", r.MaxClients)
	}
	if r.InitialAccessToken != "" && len(r.InitialAccessToken) < 8 {
		return fieldErr("registration.initial_access_token", "must be at least 8 characters")
	}
	return nil
}

// Registration error codes (RFC 7591 3.2.2).
const (
	errInvalidRedirectURI    oauth.ErrorCode = "invalid_redirect_uri"
	errInvalidClientMetadata oauth.ErrorCode = "invalid_client_metadata"
)

// registrationRequest is the client metadata the provider understands (RFC
// 7591 2; post_logout_redirect_uris from RP-Initiated Logout 1.0 3.1). Any
// other member is ignored, as RFC 7591 2 requires.
type registrationRequest struct {
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	ClientName              string          `json:"client_name"`
	Scope                   string          `json:"scope"`
	JWKS                    json.RawMessage `json:"jwks"`
	JWKSURI                 string          `json:"jwks_uri"`
}

// handleRegister is the client registration endpoint (RFC 7591 3): a JSON
// POST answered 201 with the client's credentials and metadata (3.2.1), or
// 400 with invalid_redirect_uri / invalid_client_metadata (3.2.2).
func (p *Provider) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !p.cfg.Registration.Enabled {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		p.methodNotAllowed(w, http.MethodPost)
		return
	}
	if want := p.cfg.Registration.InitialAccessToken; want != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			p.writeJSONError(w, &oauthError{code: oauth.InvalidToken, description: "registration needs the initial access token", status: http.StatusUnauthorized})
			return
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		p.writeJSONError(w, invalidRequest("the body must be application/json (RFC 7591 3.1)"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, p.cfg.Limits.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > p.cfg.Limits.MaxBodyBytes {
		p.writeJSONError(w, invalidRequest(fmt.Sprintf("the body could not be read or is larger than %d bytes", p.cfg.Limits.MaxBodyBytes)))
		return
	}
	var req registrationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		p.writeJSONError(w, newError(errInvalidClientMetadata, "the body is not a JSON object of client metadata: "+truncate(err.Error(), 120)))
		return
	}
	c, oerr := p.clientFromRegistration(req)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	added, full := p.clientReg.add(c, p.cfg.Registration.MaxClients)
	if full {
		p.writeJSONError(w, newError(errInvalidClientMetadata, fmt.Sprintf("the provider holds %d registered clients, its registration.max_clients", p.cfg.Registration.MaxClients)))
		return
	}
	if !added { // a 128-bit random id taken: not in this universe
		p.writeJSONError(w, &oauthError{code: oauth.ServerError, description: "client_id collision", status: http.StatusInternalServerError})
		return
	}
	writeJSON(w, http.StatusCreated, p.registrationResponse(c, req), true)
}

// clientFromRegistration turns registered metadata into a client, with the
// defaults of RFC 7591 2: grant_types authorization_code,
// token_endpoint_auth_method client_secret_basic; scope defaults to every
// scope the provider knows.
func (p *Provider) clientFromRegistration(req registrationRequest) (*Client, *oauthError) {
	c := &Client{ID: "dyn-" + newSecret(), Name: req.ClientName, RedirectURIs: req.RedirectURIs,
		PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, TokenEndpointAuthMethod: req.TokenEndpointAuthMethod,
		GrantTypes: slices.Clone(req.GrantTypes), JWKSURI: req.JWKSURI}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = AuthClientSecretBasic
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantAuthorizationCode}
	}
	switch c.TokenEndpointAuthMethod {
	case AuthNone:
		c.Public = true
	case AuthPrivateKeyJWT:
	default:
		c.Secret = newSecret()
	}
	if len(req.JWKS) > 0 && string(req.JWKS) != "null" {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(req.JWKS, &set); err != nil {
			return nil, newError(errInvalidClientMetadata, "jwks is not a JWK set")
		}
		c.JWKS = &JWKS{JSONWebKeySet: set}
	}
	c.Scopes = slices.Clone(p.cfg.Scopes)
	if req.Scope != "" {
		c.Scopes = strings.Fields(req.Scope)
	}
	known := make(map[string]bool, len(p.cfg.Scopes))
	for _, s := range p.cfg.Scopes {
		known[s] = true
	}
	for _, list := range []struct {
		field string
		uris  []string
	}{{"redirect_uris", c.RedirectURIs}, {"post_logout_redirect_uris", c.PostLogoutRedirectURIs}} {
		for i, u := range list.uris {
			if err := registrableRedirectURI(u); err != nil {
				return nil, newError(errInvalidRedirectURI, fmt.Sprintf("%s[%d]: %s", list.field, i, truncate(err.Error(), 200)))
			}
		}
	}
	err := c.validate("client", known)
	if err == nil {
		err = checkResponseTypes(req.ResponseTypes, c)
	}
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Field, "client.redirect_uris") {
			return nil, newError(errInvalidRedirectURI, strings.TrimPrefix(fe.Field, "client.")+": "+truncate(fe.Msg, 200))
		}
		msg := err.Error()
		if errors.As(err, &fe) {
			msg = strings.TrimPrefix(fe.Field, "client.") + ": " + fe.Msg
		}
		return nil, newError(errInvalidClientMetadata, truncate(msg, 240))
	}
	prepareClient(c)
	return c, nil
}

// registrationResponse is RFC 7591 3.2.1: the credentials and every
// registered metadata value, grant types in their wire form.
func (p *Provider) registrationResponse(c *Client, req registrationRequest) []byte {
	grants := make([]string, 0, len(c.GrantTypes))
	for _, g := range c.GrantTypes {
		switch g {
		case GrantDeviceCode:
			g = DeviceCodeGrantURN
		case GrantTokenExchange:
			g = TokenExchangeGrantURN
		}
		grants = append(grants, g)
	}
	out := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        p.now().Unix(),
		"grant_types":                grants,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
		"scope":                      strings.Join(c.Scopes, " "),
	}
	if c.Secret != "" {
		out["client_secret"] = c.Secret
		out["client_secret_expires_at"] = 0 // never (RFC 7591 3.2.1)
	}
	if len(c.RedirectURIs) > 0 {
		out["redirect_uris"] = c.RedirectURIs
	}
	if len(c.PostLogoutRedirectURIs) > 0 {
		out["post_logout_redirect_uris"] = c.PostLogoutRedirectURIs
	}
	if len(req.ResponseTypes) > 0 {
		out["response_types"] = req.ResponseTypes
	}
	if c.Name != "" {
		out["client_name"] = c.Name
	}
	if c.JWKSURI != "" {
		out["jwks_uri"] = c.JWKSURI
	}
	if c.JWKS != nil {
		out["jwks"] = c.JWKS.JSONWebKeySet
	}
	body, _ := json.Marshal(out) // strings, numbers and public keys: cannot fail
	return body
}

// registrableRedirectURI is stricter than a configured redirect URI, since
// anyone may register one: https (RFC 6749 3.1.2.1, RFC 9700 2.6), http only
// on a loopback host (RFC 8252 7.3), or a private-use scheme in reverse
// domain name form (RFC 8252 7.1), which keeps javascript:, data: and file:
// out. No user info, no fragment (RFC 6749 3.1.2).
func registrableRedirectURI(raw string) error {
	if err := validateRedirectURI(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw) // validateRedirectURI parsed it
	if u.User != nil {
		return fmt.Errorf("%q carries user info", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed for loopback hosts only (RFC 8252 7.3); use https", raw)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: a private-use scheme must be a reverse domain name (RFC 8252 7.1)", raw)
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkResponseTypes holds registered response_types to what the provider
// serves and to the grant types they need (RFC 7591 2.1): code needs
// authorization_code, token needs implicit.
func checkResponseTypes(types []string, c *Client) error {
	for i, rt := range types {
		var grant string
		switch rt {
		case "code":
			grant = GrantAuthorizationCode
		case "token":
			grant = GrantImplicit
		default:
			return fieldErr(fmt.Sprintf("client.response_types[%d]", i), "%q is not a response type this provider serves (code, token)", rt)
		}
		if !c.Allows(grant) {
			return fieldErr(fmt.Sprintf("client.response_types[%d]", i), "%q needs the %s grant type (RFC 7591 2.1)", rt, grant)
		}
	}
	return nil
}
