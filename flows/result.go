package flows

import (
	"net/url"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/trace"
)

// Flow names, as results and metrics label them and as --flow and scenario
// files write them (runner/grants.Table has a row for each the runner replays).
const (
	FlowAuthCode          = "authorization_code"
	FlowClientCredentials = "client_credentials"
	FlowRefresh           = "refresh"
	FlowDeviceCode        = "device_code"
	FlowPassword          = "password"
	FlowImplicit          = "implicit"
)

// Result is what a flow produced. Flows return it even when they fail, holding
// the trace up to the failure.
type Result struct {
	// Flow is one of the Flow* names.
	Flow string
	// Role is the client role the flow acted as.
	Role Role
	// Start and End bound the whole flow.
	Start, End time.Time
	// Token is the token response, nil if none was obtained. Token.Extra gives
	// raw members (scope, id_token, ...).
	Token *oauth2.Token
	// IDToken is the raw ID token, "" if the response had none.
	IDToken string
	// IDTokenClaims are the ID token's claims, parsed but NOT verified: the suites
	// verify signatures against the JWKS. Nil when there is no ID token or it
	// could not be parsed (IDTokenParseError says why).
	IDTokenClaims     map[string]any
	IDTokenParseError string
	// Authorization is the authorization request and response of a redirect-based
	// flow (authorization code, implicit), nil for the others.
	Authorization *Authorization
	// Device is the device authorization response of a device flow.
	Device *oauth2.DeviceAuthResponse
	// Consent is how login and consent were driven ("" for flows without pages).
	Consent ConsentMode
	// Trace has one step per HTTP request or browser page step, in order.
	Trace []trace.Step
	// Exchanges are the raw HTTP exchanges (none with RecordTrace).
	Exchanges []trace.Exchange
	// Screenshots are the PNG files saved by failed browser steps.
	Screenshots []string
}

// Duration is how long the whole flow took.
func (r *Result) Duration() time.Duration { return r.End.Sub(r.Start) }

// Scope is the scope member of the token response ("" if absent; RFC 6749 5.1
// lets the server omit it when it equals the requested scope).
func (r *Result) Scope() string {
	if r.Token == nil {
		return ""
	}
	s, _ := r.Token.Extra("scope").(string)
	return s
}

// ExpiresIn is the expires_in member of the token response, and whether it was
// present as a number.
func (r *Result) ExpiresIn() (int64, bool) {
	if r.Token == nil {
		return 0, false
	}
	switch v := r.Token.Extra("expires_in").(type) {
	case float64:
		return int64(v), true
	case string: // form-encoded responses
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// RefreshTokenIssued reports whether the token response itself carried a
// refresh_token member. (x/oauth2 copies the old refresh token into the Token
// when a refresh response has none, so Token.RefreshToken cannot tell.)
func (r *Result) RefreshTokenIssued() bool {
	if r.Token == nil {
		return false
	}
	s, _ := r.Token.Extra("refresh_token").(string)
	return s != ""
}

// Authorization is one authorization request and the response caught at the
// redirect URI.
type Authorization struct {
	// URL is the authorization request URL as sent.
	URL string
	// RedirectURI is the redirect_uri sent (with the listener's port when one ran).
	RedirectURI string
	State       string
	Nonce       string
	// CodeVerifier is the PKCE verifier ("" when PKCE was switched off).
	CodeVerifier string
	// Response holds every parameter of the authorization response (query, or
	// fragment for implicit); nil when no response reached the redirect URI.
	Response url.Values
	// ResponseInFragment says the parameters came in the URL fragment.
	ResponseInFragment bool
}

// Code is the authorization code of the response ("" if none).
func (a *Authorization) Code() string { return a.Response.Get("code") }

// ReturnedState is the state of the response ("" if none).
func (a *Authorization) ReturnedState() string { return a.Response.Get("state") }

// idTokenAlgs are the algorithms go-jose may parse ID tokens with. Parsing here
// is only to read claims; the suites check the algorithm against metadata.
var idTokenAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
}

// setToken stores a token response in the result and parses its ID token.
func (r *Result) setToken(tok *oauth2.Token) {
	r.Token = tok
	if tok == nil {
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	r.IDToken = raw
	if raw == "" {
		return
	}
	claims, err := parseUnverifiedClaims(raw)
	if err != nil {
		r.IDTokenParseError = err.Error()
		return
	}
	r.IDTokenClaims = claims
}

// parseUnverifiedClaims reads a JWT's claims without checking its signature.
func parseUnverifiedClaims(raw string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, idTokenAlgs)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// finish closes a result: end time, trace and exchanges from the recorder.
func (r *Result) finish(rec *Recorder) {
	r.End = time.Now()
	rec.mu.Lock()
	r.Trace = rec.steps
	r.Exchanges = rec.exchanges
	rec.mu.Unlock()
}
