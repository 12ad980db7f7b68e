package flows

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/internal/h1client"
)

// Metadata is the provider's discovery document (OIDC Discovery 3, RFC 8414 2).
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RegistrationEndpoint                       string   `json:"registration_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	// PushedAuthorizationRequestEndpoint and RequirePushedAuthorizationRequests
	// are RFC 9126 5's.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests"`
	// Source is the URL the document was read from.
	Source string `json:"-"`
	// Raw holds every member of the document, including the ones above.
	Raw map[string]any `json:"-"`
}

// SupportsCodeChallenge reports whether method is listed in
// code_challenge_methods_supported.
func (m *Metadata) SupportsCodeChallenge(method string) bool {
	return slices.Contains(m.CodeChallengeMethodsSupported, method)
}

// Discovery paths.
const (
	oidcDiscoveryPath   = "/.well-known/openid-configuration"
	rfc8414MetadataPath = "/.well-known/oauth-authorization-server"
)

// DiscoveryURLs returns the URLs discovery tries for an issuer, in order: OIDC
// Discovery 4 (suffix), then RFC 8414 3.1 (well-known inserted before the path).
func DiscoveryURLs(issuer string) (oidc, rfc8414 string, err error) {
	u, err := url.Parse(strings.TrimSuffix(issuer, "/"))
	if err != nil {
		return "", "", err
	}
	oidc = u.String() + oidcDiscoveryPath
	path := u.Path
	u.Path = rfc8414MetadataPath + path
	u.RawPath = ""
	return oidc, u.String(), nil
}

// Discover reads the provider's metadata into t.Metadata: OIDC discovery first,
// then RFC 8414. The document's issuer must equal the profile's (RFC 8414 3.3,
// OIDC Discovery 4.3).
func (t *Target) Discover(ctx context.Context) error {
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	return t.discoverLocked(ctx)
}

func (t *Target) discoverLocked(ctx context.Context) error {
	md, err := t.readMetadata(ctx)
	if err != nil {
		return err
	}
	if md.Issuer != t.Issuer && md.Issuer != strings.TrimSuffix(t.Issuer, "/") {
		return &ResponseError{Step: "discovery", Status: http.StatusOK,
			Reason: fmt.Sprintf("metadata issuer %q differs from the profile's issuer %q", md.Issuer, t.Issuer)}
	}
	if md.TokenEndpoint == "" {
		return &ResponseError{Step: "discovery", Status: http.StatusOK, Reason: "metadata has no token_endpoint"}
	}
	t.ApplyEndpoints(md)
	t.Metadata = md
	return nil
}

// ReadMetadata fetches the discovery document as Discover does (OIDC, then
// RFC 8414) without checking what it says, for a caller that reports those
// checks itself. It does not set t.Metadata.
func (t *Target) ReadMetadata(ctx context.Context) (*Metadata, error) { return t.readMetadata(ctx) }

// readMetadata tries OIDC discovery, then RFC 8414. A *TransportError means
// nothing answered the first URL. When both answer with something unusable,
// the error is the first one, with what came back, and says what the
// fallback got: the OIDC document's error is what an OpenID provider's
// operator needs, and the fallback's 404 would hide it.
func (t *Target) readMetadata(ctx context.Context) (*Metadata, error) {
	oidcURL, rfcURL, err := DiscoveryURLs(t.Issuer)
	if err != nil {
		return nil, &ProfileError{Field: "issuer", Err: err}
	}
	md, first := t.fetchMetadata(ctx, oidcURL)
	var answered *ResponseError
	if !errors.As(first, &answered) {
		return md, first // a document, or no answer at all
	}
	md, fallback := t.fetchMetadata(ctx, rfcURL)
	if fallback == nil {
		return md, nil
	}
	e := *answered
	if e.Err != nil {
		// The cause belongs to the first request: say it before the fallback's.
		e.Reason += ": " + e.Err.Error()
		e.Err = nil
	}
	e.Reason += "; the RFC 8414 fallback " + rfcURL + " " + fallbackOutcome(oidcURL, answered, rfcURL, fallback)
	return nil, &e
}

// fallbackOutcome says in a few words what the RFC 8414 request got.
func fallbackOutcome(firstURL string, first *ResponseError, u string, err error) string {
	var re *ResponseError
	if !errors.As(err, &re) {
		return "got no answer: " + err.Error()
	}
	if re.Status == http.StatusNotFound {
		return "answered HTTP 404"
	}
	detail := strings.TrimPrefix(re.Reason, "GET "+u+": ")
	if re.Status == first.Status && detail == strings.TrimPrefix(first.Reason, "GET "+firstURL+": ") {
		return "answered the same"
	}
	if re.Err != nil {
		detail += ": " + re.Err.Error()
	}
	return fmt.Sprintf("answered HTTP %d: %s", re.Status, detail)
}

// maxMetadataBytes bounds a discovery document; real ones are a few KB.
const maxMetadataBytes = 1 << 20

func (t *Target) fetchMetadata(ctx context.Context, u string) (*Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, t.requestTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &ProfileError{Field: "issuer", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := t.HTTPClient().Do(req)
	if err != nil {
		return nil, &TransportError{Step: "discovery", Err: err}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	refuse := func(detail string, err error) error {
		return &ResponseError{Step: "discovery", Status: resp.StatusCode, Reason: "GET " + u + ": " + detail, Err: err}
	}
	what := describeBody(resp.Header.Get("Content-Type"), body)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if loc == "" {
			loc = "nowhere (no Location)"
		}
		return nil, refuse(fmt.Sprintf("redirects to %s; discovery follows no redirect (the document must be at the issuer's well-known URL)", truncateText(loc, 200)), nil)
	case resp.StatusCode != http.StatusOK:
		return nil, refuse("want 200 with the metadata, got "+what, nil)
	case readErr != nil:
		// The server answered, then the body broke off.
		return nil, refuse("the body broke off after "+fmt.Sprint(len(body))+" bytes", readErr)
	case len(body) > maxMetadataBytes:
		return nil, refuse(fmt.Sprintf("the metadata is larger than %d bytes", maxMetadataBytes), nil)
	}
	return parseMetadata(u, body, what, refuse)
}

// parseMetadata decodes a 200 discovery body: a JSON object whose known
// members have their types (RFC 8414 2).
func parseMetadata(u string, body []byte, what string, refuse func(string, error) error) (*Metadata, error) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, refuse("the metadata is not JSON: got "+what, nil)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, refuse("the metadata is a JSON "+jsonKind(raw)+", not an object", nil)
	}
	md := &Metadata{Source: u, Raw: obj}
	if err := json.Unmarshal(body, md); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, refuse(fmt.Sprintf("metadata member %q is a JSON %s, want %s", te.Field, te.Value, jsonTypeName(te.Type.String())), nil)
		}
		return nil, refuse("the metadata does not decode", err)
	}
	return md, nil
}

// describeBody says what came back: the Content-Type and the start of the body.
func describeBody(contentType string, body []byte) string {
	if contentType == "" {
		contentType = "no Content-Type"
	}
	if len(body) == 0 {
		return contentType + ", an empty body"
	}
	return fmt.Sprintf("%s, %d bytes starting %q", truncateText(contentType, 80), len(body), truncateText(string(body), 80))
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}

// jsonTypeName names a Go field type in JSON's words.
func jsonTypeName(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "[]string":
		return "an array of strings"
	case "bool":
		return "a boolean"
	}
	return goType
}

// metadata returns the target's metadata, discovering it on first use. The
// fast path takes no lock: the runner calls it on every flow.
func (t *Target) metadata(ctx context.Context) (*Metadata, error) {
	if md := t.mdCache.Load(); md != nil {
		return md, nil
	}
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	if t.Metadata == nil {
		if err := t.discoverLocked(ctx); err != nil {
			return nil, err
		}
	}
	t.mdCache.Store(t.Metadata)
	return t.Metadata, nil
}

// httpState is the target's shared client and the transport under its
// recording layer, swapped as one.
type httpState struct {
	client  *http.Client
	base    http.RoundTripper
	timeout time.Duration
	// wire sends prepared token requests to plain-HTTP endpoints without
	// net/http (see PreparedTokenRequest); nil once SetTransport replaced the
	// pool, so a custom transport sees every request.
	wire *h1client.Transport
}

// HTTPClient returns the target's shared HTTP client: a recording transport over
// one connection pool, no redirects followed (flows read Location themselves), no
// cookies. Safe for concurrent use; reuse it rather than making clients per call.
func (t *Target) HTTPClient() *http.Client { return t.http().client }

// TLSConfig is a copy of the TLS configuration the target's requests use (nil:
// the system roots), for a check that must talk to the target over a
// connection of its own.
func (t *Target) TLSConfig() *tls.Config { return t.tlsConfig.Clone() }

func (t *Target) http() *httpState {
	if st := t.httpState.Load(); st != nil {
		return st
	}
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	if st := t.httpState.Load(); st != nil {
		return st
	}
	transport := &http.Transport{
		Proxy:                 nil, // traffic goes to the target, never through a proxy
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       t.tlsConfig,
	}
	st := t.setBaseLocked(transport)
	st.wire = h1client.New(transport.MaxIdleConnsPerHost, 10*time.Second, 30*time.Second)
	return st
}

func (t *Target) setBaseLocked(base http.RoundTripper) *httpState {
	// The request timeout lives in the recording transport, not in
	// http.Client.Timeout: net/http enforces a client timeout over a transport
	// it does not know with a timer goroutine per request, which outlives the
	// request until the body is closed.
	st := &httpState{base: base, timeout: t.requestTimeout()}
	st.client = &http.Client{Transport: &recordingTransport{base: base, timeout: st.timeout}, CheckRedirect: noRedirects}
	t.httpState.Store(st)
	return st
}

// SetTransport replaces the base transport under the recording layer (tests,
// custom dialers). Call it before the first flow.
func (t *Target) SetTransport(base http.RoundTripper) {
	if base == nil {
		base = http.DefaultTransport
	}
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	t.setBaseLocked(base)
}

// CloseIdleConnections closes the shared pool's idle connections.
func (t *Target) CloseIdleConnections() {
	if st := t.httpState.Load(); st != nil {
		st.client.CloseIdleConnections()
		if st.wire != nil {
			st.wire.CloseIdleConnections()
		}
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// sessionClient returns a client sharing the target's connection pool with its
// own cookie jar, for one browserless login session.
func (t *Target) sessionClient(jar http.CookieJar) *http.Client {
	base := t.HTTPClient()
	return &http.Client{Transport: base.Transport, CheckRedirect: noRedirects, Jar: jar}
}

// oauthContext makes x/oauth2 use the target's connection pool and records its
// requests under step. The client is bound to the recorder as well as the
// context carrying it, because x/oauth2 sends some requests (DeviceAuth)
// without the caller's context.
func (t *Target) oauthContext(ctx context.Context, rec *Recorder, step string) context.Context {
	return t.oauthContextAuth(ctx, rec, step, nil)
}

// oauthContextAuth is oauthContext whose requests also authenticate as basic
// with HTTP Basic (nil: no such help).
func (t *Target) oauthContextAuth(ctx context.Context, rec *Recorder, step string, basic *Client) context.Context {
	st := t.http()
	bound := &http.Client{Transport: &recordingTransport{base: st.base, timeout: st.timeout, rec: rec, step: step, basic: basic}, CheckRedirect: noRedirects}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, bound)
	return WithStep(WithRecorder(ctx, rec), step)
}

// oauthConfig builds the x/oauth2 configuration of a client.
func oauthConfig(md *Metadata, c *Client, scopes []string, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  redirectURI,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:       md.AuthorizationEndpoint,
			TokenURL:      md.TokenEndpoint,
			DeviceAuthURL: md.DeviceAuthorizationEndpoint,
			AuthStyle:     authStyle(c.method()),
		},
	}
}

// authStyle maps a client's auth method to x/oauth2's, never auto-detect: a probe
// would send the secret twice and double the requests.
func authStyle(m AuthMethod) oauth2.AuthStyle {
	if m == AuthClientSecretBasic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}
