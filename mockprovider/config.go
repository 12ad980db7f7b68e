package mockprovider

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/grantbench/grantbench/oauth"
	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration as written, for
// printing or as a starting point for a custom file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Grant type names as clients list them in the configuration: the wire's
// grant_type (package oauth), except device_code, short for the device
// grant's URN (which may also be written), and implicit, which has no
// grant_type (RFC 6749 4.2 goes through the authorization endpoint alone).
const (
	GrantAuthorizationCode = string(oauth.GrantAuthorizationCode)
	GrantClientCredentials = string(oauth.GrantClientCredentials)
	GrantRefreshToken      = string(oauth.GrantRefreshToken)
	GrantPassword          = string(oauth.GrantPassword)
	GrantDeviceCode        = "device_code"
	GrantImplicit          = "implicit"
	// GrantTokenExchange is short for RFC 8693's grant URN
	// (TokenExchangeGrantURN, which may also be written).
	GrantTokenExchange = "token_exchange"
	// GrantJWTBearer is short for RFC 7523's grant URN (JWTBearerGrantURN,
	// which may also be written).
	GrantJWTBearer = "jwt_bearer"

	// DeviceCodeGrantURN is the grant_type the token endpoint expects for the
	// device grant (RFC 8628 3.4).
	DeviceCodeGrantURN = string(oauth.GrantDeviceCode)
	// TokenExchangeGrantURN is the grant_type of token exchange (RFC 8693 2.1).
	TokenExchangeGrantURN = string(oauth.GrantTokenExchange)
	// JWTBearerGrantURN is the grant_type of the JWT bearer grant (RFC 7523 2.1).
	JWTBearerGrantURN = string(oauth.GrantJWTBearer)
)

var knownGrants = [...]string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken,
	GrantPassword, GrantDeviceCode, GrantImplicit, GrantTokenExchange, GrantJWTBearer}

// Signing algorithms and access-token formats.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"

	AccessTokenJWT    = "jwt"
	AccessTokenOpaque = "opaque"
)

// Config is the provider configuration. DefaultConfig gives the embedded
// default; LoadConfig and ParseConfig read YAML in the same shape.
type Config struct {
	// Profile switches a security profile on: "fapi2" (profile.go) makes the
	// provider a FAPI 2.0 authorization server, overriding what this
	// configuration says where the profile fixes it. Empty: none.
	Profile string `yaml:"profile"`
	// Issuer is the base URL the provider serves, without a trailing slash.
	// New requires it; StartLocal fills it in when empty.
	Issuer string `yaml:"issuer"`
	// SigningAlg is RS256 or ES256.
	SigningAlg string `yaml:"signing_alg"`
	// AccessTokenFormat is "jwt" (RFC 9068) or "opaque".
	AccessTokenFormat string `yaml:"access_token_format"`
	// AccessTokenAudience is the aud of JWT access tokens; empty means the client_id.
	AccessTokenAudience string `yaml:"access_token_audience"`

	Lifetimes Lifetimes `yaml:"lifetimes"`
	// Scopes lists every scope the provider knows.
	Scopes []string `yaml:"scopes"`
	Limits Limits   `yaml:"limits"`

	Clients []Client `yaml:"clients"`
	Users   []User   `yaml:"users"`
	// Login is who the login page lets in: "users" (the default: the
	// configured users with their passwords) or "any_user" (any other
	// username too, without a password, with the claims typed into the
	// page's claims field), for trying roles by hand.
	Login string `yaml:"login"`
	// TrustedIssuers sign the assertions of the JWT bearer grant
	// (token_jwtbearer.go).
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`

	// Registration turns on dynamic client registration (RFC 7591).
	Registration Registration `yaml:"registration"`

	// Behaviour picks among behaviours the specifications allow.
	Behaviour Behaviour `yaml:"behaviour"`

	// Defects are defect modes (catalog/CHECKS.md) on for the whole provider;
	// Client.Defects turns them on for one client. Off by default.
	Defects []string `yaml:"defects"`
	// Faults make endpoints slow, failing or dropping connections.
	Faults []Fault `yaml:"faults"`

	// Issuers are further issuers served under /{id}/, each with keys,
	// clients, users and claims of its own (issuers.go).
	Issuers []IssuerConfig `yaml:"issuers"`
	// RequirePushedAuthorizationRequests refuses every authorization request
	// that does not come through the PAR endpoint (RFC 9126 5); a client's
	// own require_pushed_authorization_requests does it for that client.
	RequirePushedAuthorizationRequests bool `yaml:"require_pushed_authorization_requests"`
}

// Lifetimes of what the provider issues.
type Lifetimes struct {
	AuthorizationCode  time.Duration `yaml:"authorization_code"`
	AccessToken        time.Duration `yaml:"access_token"`
	IDToken            time.Duration `yaml:"id_token"`
	RefreshToken       time.Duration `yaml:"refresh_token"`
	DeviceCode         time.Duration `yaml:"device_code"`
	DevicePollInterval time.Duration `yaml:"device_poll_interval"`
	Session            time.Duration `yaml:"session"`
	// Interaction bounds how long a login or consent page stays usable.
	Interaction time.Duration `yaml:"interaction"`
	// RequestURI is how long a pushed authorization request's request_uri
	// stays usable (RFC 9126 2.2).
	RequestURI time.Duration `yaml:"request_uri"`
}

// Behaviour chooses among behaviours the specifications allow where the
// default makes one choice and real providers make another. None of them is a
// defect: the suites must pass the provider with each (see Settings), which
// shows the checks judge what the specifications require, not the mock's
// habits.
type Behaviour struct {
	// LenientFormEncoding parses form bodies as the WHATWG urlencoded parser
	// does: a malformed percent-escape ("%zz") is kept literally instead of
	// refusing the body with invalid_request.
	LenientFormEncoding bool `yaml:"lenient_form_encoding"`
	// DropUnknownScopes grants what the client may have of a requested scope
	// and leaves the rest out, saying what was granted in the token
	// response's scope (RFC 6749 3.3: the server MAY ignore requested scope),
	// instead of refusing with invalid_scope.
	DropUnknownScopes bool `yaml:"drop_unknown_scopes"`
	// UnauthenticatedIntrospection is how introspection refuses a caller who
	// sent no credentials: "401" (the default: 401 invalid_client), "400"
	// (400 invalid_client: RFC 6749 5.2 makes 401 a MUST only when the client
	// used the Authorization header) or "400_invalid_request" (what some
	// certified providers send; the suites warn about the code).
	UnauthenticatedIntrospection string `yaml:"unauthenticated_introspection"`
	// NeverSlowDown never answers slow_down to a device client polling too
	// fast (RFC 8628 3.5 lets the server choose; the duty is the client's).
	NeverSlowDown bool `yaml:"never_slow_down"`
	// DeferAuthorizationErrors: a repeated parameter or a bad PKCE challenge
	// at the authorization endpoint is refused only after login and consent,
	// with an error redirect to the client (AC10, AC11, AC13 must pass).
	DeferAuthorizationErrors bool `yaml:"defer_authorization_errors"`
	// LoginApp: the authorization endpoint redirects to a separate login page
	// bound to a cookie it sets; only that page carries the framing headers
	// (B5).
	LoginApp bool `yaml:"login_app"`
	// ErrorPageStatus is the HTTP status of the error pages (0: 400); some
	// providers serve them with 500 (B1-B4 warn).
	ErrorPageStatus int `yaml:"error_page_status"`
	// OfflineAccessNeedsConsent: offline_access is dropped from a grant (no
	// refresh token) unless the authorization request has prompt=consent, as
	// OIDC Core 11 tells a provider to do (R1-R6, E2, E3).
	OfflineAccessNeedsConsent bool `yaml:"offline_access_needs_consent"`
	// ClockSkew is a tolerance past exp during which access tokens are still
	// served by userinfo and introspection (E1, with lifetimes.clock_skew in
	// the profile).
	ClockSkew time.Duration `yaml:"clock_skew"`
	// UnadvertisedEndpoints: the metadata leaves out the introspection and
	// revocation endpoints, which stay served (I1, I2, V2, with endpoints: in
	// the profile).
	UnadvertisedEndpoints bool `yaml:"unadvertised_endpoints"`
	// RememberConsent: a login session that approved a client's scopes is not
	// asked again unless the request has prompt=consent (AC15).
	RememberConsent bool `yaml:"remember_consent"`
	// CustomPages: the login, consent and error pages use other markup, field
	// names and buttons than the default ids (CustomPageSelectors), as every
	// real provider does (the HTTP form driver and the browser).
	CustomPages bool `yaml:"custom_pages"`
	// DeviceDeniedPage: a denied device request ends on a page of its own
	// (#device-denied) rather than the done page.
	DeviceDeniedPage bool `yaml:"device_denied_page"`
}

// Unauthenticated introspection refusals (Behaviour.UnauthenticatedIntrospection).
const (
	IntrospectionRefuse401               = "401"
	IntrospectionRefuse400               = "400"
	IntrospectionRefuse400InvalidRequest = "400_invalid_request"
)

// Limits bound what one request and the whole instance may hold.
type Limits struct {
	// MaxBodyBytes caps request bodies; a larger body gets invalid_request.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxAssertionLifetime bounds how far in the future a JWT assertion's
	// exp may lie (client assertions and the JWT bearer grant): a longer
	// lived assertion is refused, and the jti replay cache holds entries no
	// longer than this.
	MaxAssertionLifetime time.Duration `yaml:"max_assertion_lifetime"`
	// MaxStateBytes bounds the memory the provider's state (codes, access
	// and refresh tokens, grants, sessions, device codes, pending pages)
	// is estimated to hold; past it the oldest entries go first, whatever
	// their kind.
	MaxStateBytes int64 `yaml:"max_state_bytes"`
}

// minStateBytes is the smallest state bound: a few thousand entries.
const minStateBytes = 1 << 20

// Client is a registered OAuth client.
type Client struct {
	ID string `yaml:"id"`
	// Secret is required for confidential clients and must be empty for
	// public ones.
	Secret string `yaml:"secret"`
	// Public clients authenticate with "none" and must use PKCE.
	Public       bool     `yaml:"public"`
	Name         string   `yaml:"name"`
	GrantTypes   []string `yaml:"grant_types"`
	RedirectURIs []string `yaml:"redirect_uris"`
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to (OpenID Connect RP-Initiated Logout 1.0 3.1), matched
	// exactly.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// Scopes the client may request; each must be in Config.Scopes.
	Scopes []string `yaml:"scopes"`
	// DefaultScopes are granted when a request names no scope.
	DefaultScopes []string `yaml:"default_scopes"`
	// Defects are defect modes on for this client only.
	Defects []string `yaml:"defects"`

	// TokenEndpointAuthMethod is how the client authenticates at the token,
	// introspection and revocation endpoints (OIDC Dynamic Client
	// Registration 2, OIDC Core 9): client_secret_basic, client_secret_post,
	// client_secret_jwt, private_key_jwt or none. Empty: none for a public
	// client, either of the secret methods for a confidential one.
	TokenEndpointAuthMethod string `yaml:"token_endpoint_auth_method"`
	// JWKS holds the client's public keys, inline, for private_key_jwt
	// (one of jwks and jwks_uri).
	JWKS *JWKS `yaml:"jwks"`
	// JWKSURI is where the provider fetches the client's public keys for
	// private_key_jwt (one of jwks and jwks_uri).
	JWKSURI string `yaml:"jwks_uri"`
	// RequirePushedAuthorizationRequests: the client's authorization
	// requests must come through the PAR endpoint (RFC 9126 6).
	RequirePushedAuthorizationRequests bool `yaml:"require_pushed_authorization_requests"`

	// AccessTokenClaims and IDTokenClaims are extra claims in every access
	// token and ID token issued to this client (any JSON: nested objects,
	// arrays); the claims the provider sets itself cannot be configured.
	AccessTokenClaims map[string]any `yaml:"access_token_claims"`
	IDTokenClaims     map[string]any `yaml:"id_token_claims"`
	// Audience is the aud of this client's JWT access tokens (a string or a
	// list); empty: access_token_audience, else the client_id.
	Audience Audience `yaml:"audience"`

	// assertionKeys verify this client's client assertions; set by New.
	assertionKeys *keySource
	// claims are the configured claims, rendered by New.
	claims clientClaims
}

// Allows reports whether the client may use the grant (a name from the
// Grant* constants).
func (c *Client) Allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// User is a resource owner who can log in.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Subject is the sub claim; empty means the username.
	Subject string `yaml:"subject"`
	// Claims are the user's claims: the standard OIDC ones (name, email,
	// ...) are released by scope (OIDC Core 5.4); any other (roles, groups,
	// nested objects, arrays) goes into every ID token, access token and
	// userinfo answer of the user.
	Claims map[string]any `yaml:"claims"`

	// custom are the non-standard claims, rendered by New.
	custom []rawClaim
}

// DefaultConfig returns the embedded default configuration.
func DefaultConfig() (Config, error) { return ParseConfig(defaultYAML) }

// LoadConfig reads a YAML configuration file. Fields the file leaves out keep
// the embedded default's values, except lists (clients, users, scopes), which
// replace the default's when present.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("mockprovider: read config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses YAML over the embedded default and validates the result.
// Unknown fields are an error.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	if err := decodeStrict(defaultYAML, &cfg); err != nil {
		return Config{}, fmt.Errorf("mockprovider: embedded default config: %w", err)
	}
	// yaml replaces slices rather than merging them, so a file that lists
	// clients does not inherit the default ones.
	if err := decodeStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("mockprovider: config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func decodeStrict(data []byte, into *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// FieldError is a configuration error naming the offending field, such as
// "clients[1].redirect_uris[0]".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "mockprovider: config: " + e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the configuration; the first error names the field. The
// issuer may be empty here (StartLocal fills it in); New requires it.
func (c *Config) Validate() error {
	if err := c.validateIssuers(); err != nil {
		return err
	}
	if c.Issuer != "" {
		if err := validateIssuer(c.Issuer); err != nil {
			return fieldErr("issuer", "%v", err)
		}
	}
	switch c.Login {
	case "", LoginUsers, LoginAnyUser:
	default:
		return fieldErr("login", "%q is not %s or %s", c.Login, LoginUsers, LoginAnyUser)
	}
	if err := validateProfile(c.Profile); err != nil {
		return err
	}
	switch c.SigningAlg {
	case AlgRS256, AlgES256:
	default:
		return fieldErr("signing_alg", "%q is not RS256 or ES256", c.SigningAlg)
	}
	switch c.AccessTokenFormat {
	case AccessTokenJWT, AccessTokenOpaque:
	default:
		return fieldErr("access_token_format", "%q is not jwt or opaque", c.AccessTokenFormat)
	}
	switch c.Behaviour.UnauthenticatedIntrospection {
	case "", IntrospectionRefuse401, IntrospectionRefuse400, IntrospectionRefuse400InvalidRequest:
	default:
		return fieldErr("behaviour.unauthenticated_introspection", "%q is not %s, %s or %s", c.Behaviour.UnauthenticatedIntrospection,
			IntrospectionRefuse401, IntrospectionRefuse400, IntrospectionRefuse400InvalidRequest)
	}
	lifetimes := []struct {
		name string
		d    time.Duration
	}{
		{"authorization_code", c.Lifetimes.AuthorizationCode},
		{"access_token", c.Lifetimes.AccessToken},
		{"id_token", c.Lifetimes.IDToken},
		{"refresh_token", c.Lifetimes.RefreshToken},
		{"device_code", c.Lifetimes.DeviceCode},
		{"device_poll_interval", c.Lifetimes.DevicePollInterval},
		{"session", c.Lifetimes.Session},
		{"interaction", c.Lifetimes.Interaction},
		{"request_uri", c.Lifetimes.RequestURI},
	}
	for _, l := range lifetimes {
		if l.d <= 0 {
			return fieldErr("lifetimes."+l.name, "must be a positive duration such as 60s, got %v", l.d)
		}
	}
	if c.Lifetimes.DevicePollInterval%time.Second != 0 {
		return fieldErr("lifetimes.device_poll_interval", "must be whole seconds (RFC 8628 interval), got %v", c.Lifetimes.DevicePollInterval)
	}
	if c.Limits.MaxBodyBytes < 1024 {
		return fieldErr("limits.max_body_bytes", "must be at least 1024, got %d", c.Limits.MaxBodyBytes)
	}
	if c.Limits.MaxAssertionLifetime <= 0 || c.Limits.MaxAssertionLifetime > time.Hour {
		return fieldErr("limits.max_assertion_lifetime", "must be a positive duration of at most 1h such as 5m, got %v", c.Limits.MaxAssertionLifetime)
	}
	if c.Limits.MaxStateBytes < minStateBytes {
		return fieldErr("limits.max_state_bytes", "must be at least %d (1 MiB), got %d", minStateBytes, c.Limits.MaxStateBytes)
	}
	if len(c.Scopes) > 64 {
		return fieldErr("scopes", "at most 64 scopes, got %d", len(c.Scopes))
	}
	known := map[string]bool{}
	for i, s := range c.Scopes {
		if !validScopeToken(s) {
			return fieldErr(fmt.Sprintf("scopes[%d]", i), "%q is not a valid scope token", s)
		}
		if known[s] {
			return fieldErr(fmt.Sprintf("scopes[%d]", i), "%q listed twice", s)
		}
		known[s] = true
	}
	if len(c.Clients) == 0 {
		return fieldErr("clients", "at least one client is required")
	}
	ids := map[string]bool{}
	for i := range c.Clients {
		if err := c.Clients[i].validate(fmt.Sprintf("clients[%d]", i), known); err != nil {
			return err
		}
		if ids[c.Clients[i].ID] {
			return fieldErr(fmt.Sprintf("clients[%d].id", i), "%q registered twice", c.Clients[i].ID)
		}
		ids[c.Clients[i].ID] = true
	}
	if err := c.validateTrustedIssuers(known); err != nil {
		return err
	}
	for i, name := range c.Defects {
		if _, err := checkDefect(name, false); err != nil {
			return fieldErr(fmt.Sprintf("defects[%d]", i), "%v", err)
		}
	}
	for i, f := range c.Faults {
		if err := f.validate(fmt.Sprintf("faults[%d]", i)); err != nil {
			return err
		}
	}
	if err := c.Behaviour.validate(); err != nil {
		return err
	}
	if err := c.Registration.validate(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i, u := range c.Users {
		field := fmt.Sprintf("users[%d]", i)
		if u.Username == "" {
			return fieldErr(field+".username", "required")
		}
		if names[u.Username] {
			return fieldErr(field+".username", "%q listed twice", u.Username)
		}
		names[u.Username] = true
		if u.Password == "" {
			return fieldErr(field+".password", "required")
		}
		if err := validateClaimNames(field+".claims", u.Claims); err != nil {
			return err
		}
	}
	return nil
}

var reservedClaims = map[string]struct{}{"iss": {}, "sub": {}, "aud": {}, "exp": {}, "iat": {}, "nbf": {},
	"jti": {}, "azp": {}, "nonce": {}, "auth_time": {}, "at_hash": {}, "c_hash": {}, "client_id": {}, "scope": {}}

func (c *Client) validate(field string, knownScopes map[string]bool) error {
	if c.ID == "" {
		return fieldErr(field+".id", "required")
	}
	if strings.ContainsAny(c.ID, ":\x00") {
		return fieldErr(field+".id", "%q may not contain ':' (HTTP Basic) or NUL", c.ID)
	}
	if c.Public && c.Secret != "" {
		return fieldErr(field+".secret", "a public client has no secret")
	}
	if err := c.validateAuthMethod(field); err != nil {
		return err
	}
	if len(c.GrantTypes) == 0 {
		return fieldErr(field+".grant_types", "at least one grant type is required")
	}
	for j, g := range c.GrantTypes {
		switch g {
		case DeviceCodeGrantURN:
			c.GrantTypes[j] = GrantDeviceCode
			g = GrantDeviceCode
		case TokenExchangeGrantURN:
			c.GrantTypes[j] = GrantTokenExchange
			g = GrantTokenExchange
		case JWTBearerGrantURN:
			c.GrantTypes[j] = GrantJWTBearer
			g = GrantJWTBearer
		}
		if !slices.Contains(knownGrants[:], g) {
			return fieldErr(fmt.Sprintf("%s.grant_types[%d]", field, j), "%q is not one of %s", g, strings.Join(knownGrants[:], ", "))
		}
		if c.Public && (g == GrantClientCredentials || g == GrantPassword) {
			return fieldErr(fmt.Sprintf("%s.grant_types[%d]", field, j), "%s needs a confidential client", g)
		}
	}
	needsRedirect := c.Allows(GrantAuthorizationCode) || c.Allows(GrantImplicit)
	if needsRedirect && len(c.RedirectURIs) == 0 {
		return fieldErr(field+".redirect_uris", "required for authorization_code and implicit")
	}
	for j, u := range c.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return fieldErr(fmt.Sprintf("%s.redirect_uris[%d]", field, j), "%v", err)
		}
	}
	for j, u := range c.PostLogoutRedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return fieldErr(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", field, j), "%v", err)
		}
	}
	for j, s := range c.Scopes {
		if !knownScopes[s] {
			return fieldErr(fmt.Sprintf("%s.scopes[%d]", field, j), "%q is not in the provider's scopes", s)
		}
	}
	for j, name := range c.Defects {
		if _, err := checkDefect(name, true); err != nil {
			return fieldErr(fmt.Sprintf("%s.defects[%d]", field, j), "%v", err)
		}
	}
	for j, s := range c.DefaultScopes {
		if !slices.Contains(c.Scopes, s) {
			return fieldErr(fmt.Sprintf("%s.default_scopes[%d]", field, j), "%q is not in the client's scopes", s)
		}
	}
	if err := validateClaimNames(field+".access_token_claims", c.AccessTokenClaims); err != nil {
		return err
	}
	if err := validateClaimNames(field+".id_token_claims", c.IDTokenClaims); err != nil {
		return err
	}
	return c.Audience.validate(field + ".audience")
}

func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q must be an http or https URL", issuer)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must have a host and no query, fragment or user info", issuer)
	}
	if strings.HasSuffix(issuer, "/") {
		return fmt.Errorf("%q must not end with a slash", issuer)
	}
	return nil
}

func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q has a fragment (RFC 6749 3.1.2)", raw)
	}
	return nil
}

// validScopeToken follows RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
