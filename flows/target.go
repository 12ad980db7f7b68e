package flows

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v3"

	"github.com/grantbench/grantbench/internal/yamlenv"
)

// Role names a client of the target profile by what it is used for.
type Role string

// The client roles a target profile may define.
const (
	// RoleConfidential is a confidential client (authorization code, refresh,
	// client credentials).
	RoleConfidential Role = "confidential"
	// RolePublic is a public client (no secret, PKCE required).
	RolePublic Role = "public"
	// RoleDevice is the client of the device authorization grant.
	RoleDevice Role = "device"
	// RoleLegacy is a client allowed the password and implicit grants.
	RoleLegacy Role = "legacy"
	// RoleOther is a second confidential client, for checks that one client
	// cannot use what was issued to another.
	RoleOther Role = "other"
	// RoleService is the client of the client credentials grant, for providers
	// that keep that grant to service accounts which cannot run the code flow
	// (zitadel's example OP does). Without one, the confidential client serves.
	RoleService Role = "service"
	// RoleFAPI is a client of the FAPI 2.0 checks: one that authenticates
	// with private_key_jwt and pushes its authorization requests (PAR).
	RoleFAPI Role = "fapi"
)

// roles lists every role in the order profiles usually declare them.
var roles = [...]Role{RoleConfidential, RolePublic, RoleDevice, RoleLegacy, RoleOther, RoleService, RoleFAPI}

// AuthMethod is how a client authenticates at the token endpoint (RFC 6749 2.3,
// OIDC Core 9).
type AuthMethod string

// The supported client authentication methods.
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthNone              AuthMethod = "none"
	// AuthPrivateKeyJWT signs a client assertion with the client's key
	// (RFC 7523 2.2, OIDC Core 9): key_file in the profile.
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
)

// Client is one registered client of the target.
type Client struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURI is the registered redirect URI. A loopback URI without a port
	// (http://127.0.0.1/callback) makes flows listen on an ephemeral port and
	// send that port (RFC 8252 7.3); with a port, that port is used.
	RedirectURI string   `yaml:"redirect_uri"`
	Scopes      []string `yaml:"scopes"`
	// AuthMethod defaults to client_secret_basic with a secret, none without.
	AuthMethod AuthMethod `yaml:"auth_method"`
	// KeyFile is the private key of a private_key_jwt client: a JWK (JSON;
	// its kid and alg go into the assertions) or PEM; a relative path is
	// taken from the profile's folder.
	KeyFile string `yaml:"key_file"`
	// Key is the loaded private key (from KeyFile, or set in code).
	Key *jose.JSONWebKey `yaml:"-"`
	// AssertionAudience is the aud of the client's assertions; empty: the
	// issuer.
	AssertionAudience string `yaml:"assertion_audience"`
	// PAR makes the flows push the client's authorization requests to the
	// pushed_authorization_request_endpoint (RFC 9126) and authorize with
	// the request_uri.
	PAR bool `yaml:"par"`
	// PARRequired says the provider refuses this client's authorization
	// requests that do not come through PAR (its registration's
	// require_pushed_authorization_requests): a check verifies it.
	PARRequired bool `yaml:"par_required"`
}

// method is the client's auth method, defaulted as the profile loader does
// for clients built in code.
func (c *Client) method() AuthMethod {
	switch {
	case c.AuthMethod != "":
		return c.AuthMethod
	case c.ClientSecret != "":
		return AuthClientSecretBasic
	default:
		return AuthNone
	}
}

// Clients holds the target's clients by role. A nil client means the profile
// has none for that role; checks needing it are skipped.
type Clients struct {
	Confidential *Client `yaml:"confidential"`
	Public       *Client `yaml:"public"`
	Device       *Client `yaml:"device"`
	Legacy       *Client `yaml:"legacy"`
	Other        *Client `yaml:"other"`
	Service      *Client `yaml:"service"`
	FAPI         *Client `yaml:"fapi"`
}

// User is the test user the flows log in as.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// LoginSelectors are CSS selectors of the provider's login page.
type LoginSelectors struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Submit   string `yaml:"submit"`
}

// ConsentSelectors are CSS selectors of the provider's consent page.
type ConsentSelectors struct {
	Approve string `yaml:"approve"`
	Deny    string `yaml:"deny"`
}

// DeviceSelectors are CSS selectors of the device verification page.
type DeviceSelectors struct {
	UserCode string `yaml:"user_code"`
	Submit   string `yaml:"submit"`
	// Denied is an element only the page after a denial shows, for providers
	// whose "denied" page differs from their "done" page ("" when the done
	// element shows after a denial too, as on the bundled mock).
	Denied string `yaml:"denied"`
}

// Selectors tell the browser how to drive the provider's pages. Empty fields take
// the bundled mock's defaults (see [DefaultSelectors]).
type Selectors struct {
	Login   LoginSelectors   `yaml:"login"`
	Consent ConsentSelectors `yaml:"consent"`
	Device  DeviceSelectors  `yaml:"device"`
	// Done is the element shown once the device verification is finished.
	Done string `yaml:"done"`
	// Error is the element of the provider's error page whose text is the
	// error code (or any text saying what went wrong); ErrorDescription, when
	// the page has one, holds the description.
	Error            string `yaml:"error"`
	ErrorDescription string `yaml:"error_description"`
}

// DefaultSelectors returns the selectors of the bundled mock provider's pages
// (docs/mockprovider.md).
func DefaultSelectors() Selectors {
	return Selectors{
		Login:   LoginSelectors{Username: "#username", Password: "#password", Submit: "#login-submit"},
		Consent: ConsentSelectors{Approve: "#approve", Deny: "#deny"},
		Device:  DeviceSelectors{UserCode: "#user-code", Submit: "#device-submit"},
		Done:    "#device-done",
		Error:   "#error", ErrorDescription: "#error-description",
	}
}

// withDefaults fills empty selectors with the bundled mock's.
func (s Selectors) withDefaults() Selectors {
	def := DefaultSelectors()
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&s.Login.Username, def.Login.Username)
	fill(&s.Login.Password, def.Login.Password)
	fill(&s.Login.Submit, def.Login.Submit)
	fill(&s.Consent.Approve, def.Consent.Approve)
	fill(&s.Consent.Deny, def.Consent.Deny)
	fill(&s.Device.UserCode, def.Device.UserCode)
	fill(&s.Device.Submit, def.Device.Submit)
	fill(&s.Done, def.Done)
	fill(&s.Error, def.Error)
	fill(&s.ErrorDescription, def.ErrorDescription)
	return s
}

// Features are the optional behaviours the provider claims. A check that needs a
// feature the profile does not claim is skipped with the reason.
type Features struct {
	Device          bool `yaml:"device"`
	RefreshRotation bool `yaml:"refresh_rotation"`
	Password        bool `yaml:"password"`
	Implicit        bool `yaml:"implicit"`
	Introspection   bool `yaml:"introspection"`
	Revocation      bool `yaml:"revocation"`
	UserInfo        bool `yaml:"userinfo"`
	// AdminClock: the provider's clock can be moved through the admin API.
	AdminClock bool `yaml:"admin_clock"`
	// KeyRotation: signing keys can be rotated through the admin API.
	KeyRotation     bool `yaml:"key_rotation"`
	JWTAccessTokens bool `yaml:"jwt_access_tokens"`
	// ShortLifetimes: the lifetimes below are short enough to wait out in a test.
	ShortLifetimes bool `yaml:"short_lifetimes"`
	// ResponseIss: authorization responses carry iss (RFC 9207).
	ResponseIss bool `yaml:"response_iss"`
	// HTTPConsent: login and consent pages can be driven by plain form posts
	// (true for the bundled mock). The driver finds the login form by the
	// browser.login selectors (or a password field) and the consent form by
	// the browser.consent buttons (or a button named "decision").
	HTTPConsent bool `yaml:"http_consent"`
	// SlowDown: the device grant answers a poll faster than the interval with
	// slow_down. RFC 8628 3.5 leaves sending it to the server, so D3 judges it
	// only when claimed.
	SlowDown bool `yaml:"slow_down"`
	// ResourceServerTokens: the access tokens are for a resource server (their
	// aud is an API), so the provider's userinfo and introspection endpoints
	// need not accept them; checks that would observe an access token there
	// are skipped with that reason.
	ResourceServerTokens bool `yaml:"resource_server_tokens"`
}

// EndpointAuth is how the harness authenticates at an endpoint the profile
// names (Endpoints).
type EndpointAuth string

// The ways to authenticate at a profile's endpoint.
const (
	// EndpointAuthClient: the client authenticates as its profile entry says
	// (the default; RFC 7662 and RFC 7009 endpoints do it so).
	EndpointAuthClient EndpointAuth = "client"
	// EndpointAuthBearer: a bearer token of the endpoint's own (an admin
	// API's), sent as Authorization: Bearer.
	EndpointAuthBearer EndpointAuth = "bearer"
	// EndpointAuthNone: nothing; the endpoint is reachable only by the
	// harness (an admin port), so checks of its authentication are skipped.
	EndpointAuthNone EndpointAuth = "none"
)

// Endpoint is an endpoint the profile names because the metadata does not
// advertise it where the harness can use it. In YAML either a URL, or a
// mapping with url, auth and token.
type Endpoint struct {
	URL string `yaml:"url"`
	// Auth defaults to client.
	Auth EndpointAuth `yaml:"auth"`
	// Token is the bearer token of auth: bearer; usually "${VAR}".
	Token string `yaml:"token"`
}

// UnmarshalYAML takes a URL or a mapping; unknown fields of the mapping are
// errors, as everywhere in a profile.
func (ep *Endpoint) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		ep.URL = n.Value
		return nil
	}
	// Errors are yaml's own kind, which the profile loader turns into the
	// dotted path of the field.
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: an endpoint is a URL or a mapping with url, auth and token", n.Line)}}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "url", "auth", "token":
		default:
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: field %s not found in type flows.Endpoint", n.Content[i].Line, k)}}
		}
	}
	type plain Endpoint
	return n.Decode((*plain)(ep))
}

// Endpoints are endpoints the profile names itself: ones the metadata does
// not advertise (introspection and revocation on an admin port, say). Each
// takes the place of the metadata's.
type Endpoints struct {
	Introspection       *Endpoint `yaml:"introspection"`
	Revocation          *Endpoint `yaml:"revocation"`
	Userinfo            *Endpoint `yaml:"userinfo"`
	DeviceAuthorization *Endpoint `yaml:"device_authorization"`
}

// each calls f with each endpoint the profile names, by its YAML name.
func (e *Endpoints) each(f func(name string, ep *Endpoint) error) error {
	for _, x := range []struct {
		name string
		ep   *Endpoint
	}{{"introspection", e.Introspection}, {"revocation", e.Revocation}, {"userinfo", e.Userinfo}, {"device_authorization", e.DeviceAuthorization}} {
		if x.ep != nil {
			if err := f(x.name, x.ep); err != nil {
				return err
			}
		}
	}
	return nil
}

// Admin locates the admin API of the bundled mock provider.
type Admin struct {
	// URL is the admin API base; empty means the issuer.
	URL string `yaml:"url"`
	// Token is the bearer token itself; usually "${VAR}".
	Token string `yaml:"token"`
	// TokenEnv names an environment variable holding the token, read when Token is empty.
	TokenEnv string `yaml:"token_env"`
}

// Lifetimes are the provider's token lifetimes as the profile states them: hints
// for expiry checks. Zero means unknown.
type Lifetimes struct {
	AccessToken  time.Duration `yaml:"access_token"`
	RefreshToken time.Duration `yaml:"refresh_token"`
	Code         time.Duration `yaml:"code"`
	DeviceCode   time.Duration `yaml:"device_code"`
	IDToken      time.Duration `yaml:"id_token"`
	// ClockSkew is the provider's tolerance past exp: a token may still be
	// served that long after it expired, and expiry checks wait it out too.
	ClockSkew time.Duration `yaml:"clock_skew"`
}

// Target is a provider profile: where it is, who the flows act as, and how to
// drive its pages. Load one with [LoadTarget] or [ParseTarget]; call [Target.Discover]
// before sharing it between goroutines.
type Target struct {
	// Name labels the target in reports; defaults to the issuer's host.
	Name      string    `yaml:"name"`
	Issuer    string    `yaml:"issuer"`
	Clients   Clients   `yaml:"clients"`
	User      User      `yaml:"user"`
	Browser   Selectors `yaml:"browser"`
	Features  Features  `yaml:"features"`
	Admin     *Admin    `yaml:"admin"`
	Lifetimes Lifetimes `yaml:"lifetimes"`
	// Endpoints name endpoints the metadata does not advertise.
	Endpoints Endpoints `yaml:"endpoints"`
	// AuthorizeParams are added to every authorization request (a provider's
	// audience or acr_values, say); the ones the flows set themselves
	// (client_id, redirect_uri, response_type, scope, state, nonce, PKCE)
	// cannot be given. A prompt given here replaces the prompt=consent the
	// flows send with offline_access.
	AuthorizeParams map[string]string `yaml:"authorize_params"`
	Metadata        *Metadata         `yaml:"-"`
	Timeouts        Timeouts          `yaml:"timeouts"`
	TLS             TLS               `yaml:"tls"`
	// metaMu serialises discovery; clientMu guards client. They are separate
	// because discovery itself uses the client.
	metaMu    sync.Mutex
	mdCache   atomic.Pointer[Metadata]
	clientMu  sync.Mutex
	httpState atomic.Pointer[httpState]
	// tlsConfig is built from TLS by normalize (nil: system roots).
	tlsConfig *tls.Config
	// secretRegistries learn every password the HTTP form driver types
	// (RegisterSecretsWith).
	secretsMu        sync.Mutex
	secretRegistries []SecretRegistry
}

// TLS configures how flows trust the target's certificate.
type TLS struct {
	// CAFile is a PEM file of extra roots (a self-signed mock: its
	// certificate); a relative path is taken from the profile's folder.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify trusts any certificate: only for a throwaway local
	// provider. The browser then ignores certificate errors too.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Timeouts bound the flows' waits. Zero fields take the defaults.
type Timeouts struct {
	// Request bounds one HTTP request (default 30s).
	Request time.Duration `yaml:"request"`
	// Page bounds one browser page step (default 20s).
	Page time.Duration `yaml:"page"`
}

const (
	defaultRequestTimeout = 30 * time.Second
	defaultPageTimeout    = 20 * time.Second
)

func (t *Target) requestTimeout() time.Duration {
	if t.Timeouts.Request > 0 {
		return t.Timeouts.Request
	}
	return defaultRequestTimeout
}

func (t *Target) pageTimeout() time.Duration {
	if t.Timeouts.Page > 0 {
		return t.Timeouts.Page
	}
	return defaultPageTimeout
}

// Client returns the client of a role, or a [*MissingClientError] when the
// profile has none.
func (t *Target) Client(role Role) (*Client, error) {
	var c *Client
	switch role {
	case RoleConfidential:
		c = t.Clients.Confidential
	case RolePublic:
		c = t.Clients.Public
	case RoleDevice:
		c = t.Clients.Device
	case RoleLegacy:
		c = t.Clients.Legacy
	case RoleOther:
		c = t.Clients.Other
	case RoleService:
		c = t.Clients.Service
	case RoleFAPI:
		c = t.Clients.FAPI
	default:
		return nil, fmt.Errorf("flows: unknown client role %q", role)
	}
	if c == nil {
		return nil, &MissingClientError{Role: role}
	}
	return c, nil
}

// ServiceRole is the role whose client runs the client credentials grant: the
// profile's service client when it has one, else its confidential client.
func (t *Target) ServiceRole() Role {
	if t.Clients.Service != nil {
		return RoleService
	}
	return RoleConfidential
}

// HasClient reports whether the profile defines a client for the role.
func (t *Target) HasClient(role Role) bool {
	c, err := t.Client(role)
	return err == nil && c != nil
}

// AdminToken returns the admin API token from the profile or its environment
// variable, "" if there is none.
func (t *Target) AdminToken() string {
	if t.Admin == nil {
		return ""
	}
	if t.Admin.Token != "" {
		return t.Admin.Token
	}
	if t.Admin.TokenEnv != "" {
		return os.Getenv(t.Admin.TokenEnv)
	}
	return ""
}

// LoadTarget reads a target profile from a YAML file. See [ParseTarget].
func LoadTarget(path string) (*Target, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flows: target profile: %w", err)
	}
	t, err := parseTarget(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTarget parses a target profile. String values may reference environment
// variables as ${VAR} (an error when VAR is unset) or ${VAR:-default}; "$$" is a
// literal "$". Unknown fields are errors, and every validation error names the
// field, e.g. "clients.public.auth_method".
func ParseTarget(data []byte) (*Target, error) { return parseTarget(data, "") }

// parseTarget parses a profile; relative file paths in it (tls.ca_file) are
// taken from dir, the profile's folder ("" for the working directory).
func parseTarget(data []byte, dir string) (*Target, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ProfileError{Field: "", Err: err}
	}
	if root.Kind == 0 {
		return nil, &ProfileError{Field: "", Err: errors.New("profile is empty")}
	}
	// Unknown fields are found on the document as written (yaml.Node.Decode
	// has no KnownFields switch); the throwaway decode's other errors, which
	// unexpanded ${VAR}s may cause, are left to the real decode below.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&Target{}); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &ProfileError{Err: err}
		}
		for _, msg := range te.Errors {
			if strings.Contains(msg, " not found in type ") {
				return nil, typeError(&root, &yaml.TypeError{Errors: []string{msg}})
			}
		}
	}
	if err := expandProfileEnv(&root); err != nil {
		return nil, err
	}
	// Decoding the tree keeps the document's lines, so a type error leads back
	// to its field's path.
	t := &Target{}
	if err := root.Decode(t); err != nil {
		return nil, typeError(&root, err)
	}
	if t.TLS.CAFile != "" && dir != "" && !filepath.IsAbs(t.TLS.CAFile) {
		t.TLS.CAFile = filepath.Join(dir, t.TLS.CAFile)
	}
	for _, role := range roles {
		if c, _ := t.Client(role); c != nil && c.KeyFile != "" && dir != "" && !filepath.IsAbs(c.KeyFile) {
			c.KeyFile = filepath.Join(dir, c.KeyFile)
		}
	}
	if err := t.normalize(); err != nil {
		return nil, err
	}
	return t, nil
}

// ProfileError is a bad target profile; Field is the dotted path of the field at
// fault ("" when the document as a whole is bad).
type ProfileError struct {
	Field string
	Err   error
}

func (e *ProfileError) Error() string {
	if e.Field == "" {
		return "flows: target profile: " + e.Err.Error()
	}
	return "flows: target profile: " + e.Field + ": " + e.Err.Error()
}

func (e *ProfileError) Unwrap() error { return e.Err }

var lineRef = regexp.MustCompile(`^line (\d+): `)

// typeError names the field of a YAML decoding error: yaml reports lines, the
// tree maps a line back to its dotted path.
func typeError(root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return &ProfileError{Err: err}
	}
	msg := te.Errors[0]
	m := lineRef.FindStringSubmatch(msg)
	if m == nil {
		return &ProfileError{Err: err}
	}
	var line int
	fmt.Sscan(m[1], &line)
	path := pathAtLine(root, line, "")
	if path == "" {
		return &ProfileError{Err: err}
	}
	if strings.Contains(msg, " not found in type ") {
		return &ProfileError{Field: path, Err: fmt.Errorf("unknown field (line %d)", line)}
	}
	return &ProfileError{Field: path, Err: errors.New(strings.TrimPrefix(msg, m[0]))}
}

// pathAtLine returns the dotted path of the deepest value that starts on line.
func pathAtLine(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := pathAtLine(c, line, path); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathAtLine(c, line, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if deeper := pathAtLine(n.Content[i+1], line, p); deeper != "" {
				return deeper
			}
		}
	}
	if n.Line == line && n.Kind == yaml.ScalarNode && path != "" {
		return path
	}
	return ""
}

// normalize fills defaults and validates, naming the field of each problem.
func (t *Target) normalize() error {
	if t.Issuer == "" {
		return &ProfileError{Field: "issuer", Err: errors.New("is required")}
	}
	u, err := url.Parse(t.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &ProfileError{Field: "issuer", Err: fmt.Errorf("%q is not an absolute http(s) URL", t.Issuer)}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return &ProfileError{Field: "issuer", Err: errors.New("must not have a query or fragment (RFC 8414 2)")}
	}
	if t.Name == "" {
		t.Name = u.Host
	}
	hasClient := false
	for _, role := range roles {
		c, _ := t.Client(role)
		if c == nil {
			continue
		}
		hasClient = true
		if err := c.normalize("clients." + string(role)); err != nil {
			return err
		}
	}
	if !hasClient {
		return &ProfileError{Field: "clients", Err: errors.New("at least one client is required")}
	}
	t.Browser = t.Browser.withDefaults()
	if t.Admin != nil {
		if t.Admin.URL != "" {
			au, err := url.Parse(t.Admin.URL)
			if err != nil || (au.Scheme != "https" && au.Scheme != "http") || au.Host == "" {
				return &ProfileError{Field: "admin.url", Err: fmt.Errorf("%q is not an absolute http(s) URL", t.Admin.URL)}
			}
		}
		if t.Admin.Token == "" && t.Admin.TokenEnv == "" {
			return &ProfileError{Field: "admin.token", Err: errors.New("admin needs token or token_env")}
		}
	}
	if (t.Features.AdminClock || t.Features.KeyRotation) && t.Admin == nil {
		return &ProfileError{Field: "features.admin_clock", Err: errors.New("admin_clock and key_rotation need an admin section")}
	}
	if err := t.buildTLS(); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{
		"lifetimes.access_token": t.Lifetimes.AccessToken, "lifetimes.refresh_token": t.Lifetimes.RefreshToken,
		"lifetimes.code": t.Lifetimes.Code, "lifetimes.device_code": t.Lifetimes.DeviceCode,
		"lifetimes.id_token": t.Lifetimes.IDToken, "lifetimes.clock_skew": t.Lifetimes.ClockSkew,
		"timeouts.request": t.Timeouts.Request, "timeouts.page": t.Timeouts.Page,
	} {
		if d < 0 {
			return &ProfileError{Field: name, Err: errors.New("must not be negative")}
		}
	}
	if err := t.Endpoints.each(normalizeEndpoint); err != nil {
		return err
	}
	for k := range t.AuthorizeParams {
		if flowAuthorizeParams[k] {
			return &ProfileError{Field: "authorize_params." + k, Err: errors.New("is set by the flows themselves and cannot be given")}
		}
		if k == "" {
			return &ProfileError{Field: "authorize_params", Err: errors.New("a parameter name is empty")}
		}
	}
	return nil
}

// flowAuthorizeParams are the authorization request parameters the flows set
// themselves; authorize_params cannot override them.
var flowAuthorizeParams = map[string]bool{"client_id": true, "redirect_uri": true, "response_type": true,
	"scope": true, "state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true}

func normalizeEndpoint(name string, ep *Endpoint) error {
	field := "endpoints." + name
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &ProfileError{Field: field + ".url", Err: fmt.Errorf("%q is not an absolute http(s) URL", ep.URL)}
	}
	switch ep.Auth {
	case "":
		ep.Auth = EndpointAuthClient
	case EndpointAuthClient, EndpointAuthNone:
	case EndpointAuthBearer:
		if ep.Token == "" {
			return &ProfileError{Field: field + ".token", Err: errors.New("is required with auth: bearer")}
		}
		return nil
	default:
		return &ProfileError{Field: field + ".auth", Err: fmt.Errorf("%q is not one of client, bearer, none", ep.Auth)}
	}
	if ep.Token != "" {
		return &ProfileError{Field: field + ".token", Err: fmt.Errorf("is only for auth: bearer (auth is %s)", ep.Auth)}
	}
	return nil
}

// EndpointAuthOf returns how the harness authenticates at an endpoint
// ("introspection", "revocation", "userinfo", "device_authorization"): the
// profile's endpoint entry when it names one, else the client's own
// authentication (EndpointAuthClient), and the bearer token for
// EndpointAuthBearer.
func (t *Target) EndpointAuthOf(name string) (EndpointAuth, string) {
	auth, token := EndpointAuthClient, ""
	t.Endpoints.each(func(n string, ep *Endpoint) error {
		if n == name {
			auth, token = ep.Auth, ep.Token
		}
		return nil
	})
	return auth, token
}

// ApplyEndpoints puts the endpoints the profile names into md, in place of
// what the metadata says (discovery does it; a caller that read the metadata
// some other way calls it too).
func (t *Target) ApplyEndpoints(md *Metadata) {
	t.Endpoints.each(func(name string, ep *Endpoint) error {
		switch name {
		case "introspection":
			md.IntrospectionEndpoint = ep.URL
		case "revocation":
			md.RevocationEndpoint = ep.URL
		case "userinfo":
			md.UserinfoEndpoint = ep.URL
		case "device_authorization":
			md.DeviceAuthorizationEndpoint = ep.URL
		}
		return nil
	})
}

func (t *Target) buildTLS() error {
	if t.TLS.CAFile == "" && !t.TLS.InsecureSkipVerify {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.TLS.InsecureSkipVerify} //nolint:gosec // asked for in the profile
	if t.TLS.CAFile != "" {
		pem, err := os.ReadFile(t.TLS.CAFile)
		if err != nil {
			return &ProfileError{Field: "tls.ca_file", Err: err}
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return &ProfileError{Field: "tls.ca_file", Err: fmt.Errorf("%s holds no PEM certificate", t.TLS.CAFile)}
		}
		cfg.RootCAs = pool
	}
	t.tlsConfig = cfg
	return nil
}

func (c *Client) normalize(field string) error {
	if c.ClientID == "" {
		return &ProfileError{Field: field + ".client_id", Err: errors.New("is required")}
	}
	switch c.AuthMethod {
	case "":
		if c.ClientSecret != "" {
			c.AuthMethod = AuthClientSecretBasic
		} else {
			c.AuthMethod = AuthNone
		}
	case AuthClientSecretBasic, AuthClientSecretPost:
		if c.ClientSecret == "" {
			return &ProfileError{Field: field + ".client_secret", Err: fmt.Errorf("is required with auth_method %s", c.AuthMethod)}
		}
	case AuthNone:
		if c.ClientSecret != "" {
			return &ProfileError{Field: field + ".client_secret", Err: errors.New("must be empty with auth_method none")}
		}
	case AuthPrivateKeyJWT:
		if c.ClientSecret != "" {
			return &ProfileError{Field: field + ".client_secret", Err: errors.New("must be empty with auth_method private_key_jwt (the client signs with key_file)")}
		}
		if c.Key == nil && c.KeyFile == "" {
			return &ProfileError{Field: field + ".key_file", Err: errors.New("is required with auth_method private_key_jwt")}
		}
	default:
		return &ProfileError{Field: field + ".auth_method", Err: fmt.Errorf("%q is not one of client_secret_basic, client_secret_post, private_key_jwt, none", c.AuthMethod)}
	}
	if c.KeyFile != "" && c.Key == nil {
		key, err := loadClientKey(c.KeyFile)
		if err != nil {
			return &ProfileError{Field: keyFileField(field), Err: err}
		}
		c.Key = key
	}
	if c.Key != nil && c.AuthMethod != AuthPrivateKeyJWT {
		return &ProfileError{Field: keyFileField(field), Err: fmt.Errorf("is only for auth_method private_key_jwt (auth_method is %s)", c.AuthMethod)}
	}
	if c.AssertionAudience != "" && c.AuthMethod != AuthPrivateKeyJWT {
		return &ProfileError{Field: field + ".assertion_audience", Err: fmt.Errorf("is only for auth_method private_key_jwt (auth_method is %s)", c.AuthMethod)}
	}
	if c.RedirectURI != "" {
		u, err := url.Parse(c.RedirectURI)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return &ProfileError{Field: field + ".redirect_uri", Err: fmt.Errorf("%q is not an absolute URL", c.RedirectURI)}
		}
		if u.Fragment != "" {
			return &ProfileError{Field: field + ".redirect_uri", Err: errors.New("must not have a fragment (RFC 6749 3.1.2)")}
		}
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return &ProfileError{Field: fmt.Sprintf("%s.scopes[%d]", field, i), Err: fmt.Errorf("%q is not a scope token (RFC 6749 3.3)", s)}
		}
	}
	return nil
}

// MockTarget returns the profile of the bundled mock provider serving at issuer,
// with its admin API reachable with adminToken ("" when the admin API is off).
// It matches examples/targets/mock.yaml.
func MockTarget(issuer, adminToken string) *Target {
	t := &Target{
		Name:   "bundled mock",
		Issuer: strings.TrimSuffix(issuer, "/"),
		Clients: Clients{
			Confidential: &Client{ClientID: "demo", ClientSecret: "demo-secret", RedirectURI: "http://127.0.0.1/callback",
				Scopes: []string{"openid", "profile", "email", "offline_access", "api.read"}, AuthMethod: AuthClientSecretBasic},
			Public: &Client{ClientID: "demo-public", RedirectURI: "http://127.0.0.1/callback",
				Scopes: []string{"openid", "profile", "offline_access", "api.read"}, AuthMethod: AuthNone},
			Device: &Client{ClientID: "demo-public", Scopes: []string{"openid", "profile", "offline_access"}, AuthMethod: AuthNone},
			Legacy: &Client{ClientID: "demo-legacy", ClientSecret: "legacy-secret", RedirectURI: "http://127.0.0.1/callback",
				Scopes: []string{"openid", "profile", "api.read"}, AuthMethod: AuthClientSecretPost},
			// The mock's default configuration has no second client allowed the
			// code grant; its legacy client (a confidential client with
			// refresh_token) serves the cross-client checks.
			Other: &Client{ClientID: "demo-legacy", ClientSecret: "legacy-secret", RedirectURI: "http://127.0.0.1/callback",
				Scopes: []string{"openid", "profile", "api.read"}, AuthMethod: AuthClientSecretBasic},
			FAPI: &Client{ClientID: "demo-fapi", RedirectURI: "http://127.0.0.1/callback", Scopes: []string{"openid", "profile", "api.read"},
				AuthMethod: AuthPrivateKeyJWT, Key: MockFAPIClientKey(), PAR: true, PARRequired: true},
		},
		User:    User{Username: "alice", Password: "wonderland"},
		Browser: DefaultSelectors(),
		Features: Features{Device: true, RefreshRotation: true, Password: true, Implicit: true, Introspection: true,
			Revocation: true, UserInfo: true, JWTAccessTokens: true, ResponseIss: true, HTTPConsent: true, SlowDown: true},
		Lifetimes: Lifetimes{AccessToken: time.Hour, RefreshToken: 24 * time.Hour, Code: time.Minute,
			DeviceCode: 10 * time.Minute, IDToken: time.Hour},
	}
	if adminToken != "" {
		t.Admin = &Admin{Token: adminToken}
		t.Features.AdminClock = true
		t.Features.KeyRotation = true
	}
	return t
}

// expandProfileEnv expands ${VAR} references by the rules every profile
// shares (internal/yamlenv), naming the field of an unset variable.
func expandProfileEnv(root *yaml.Node) error {
	var missing *yamlenv.MissingError
	if err := yamlenv.Expand(root, ""); errors.As(err, &missing) {
		return &ProfileError{Field: missing.Field, Err: missing}
	} else if err != nil {
		return err
	}
	return nil
}
