package mockprovider

import (
	"net/http"
)

// Error codes from RFC 6749 4.1.2.1 and 5.2, RFC 8628 3.5, RFC 6750 3.1,
// OIDC Core 3.1.2.6 and RFC 7009 2.2.1: the only values the provider sends.
const (
	errInvalidRequest          = "invalid_request"
	errInvalidClient           = "invalid_client"
	errInvalidGrant            = "invalid_grant"
	errUnauthorizedClient      = "unauthorized_client"
	errUnsupportedGrantType    = "unsupported_grant_type"
	errInvalidScope            = "invalid_scope"
	errAccessDenied            = "access_denied"
	errUnsupportedResponseType = "unsupported_response_type"
	errServerError             = "server_error"
	errAuthorizationPending    = "authorization_pending"
	errSlowDown                = "slow_down"
	errExpiredToken            = "expired_token"
	errInvalidToken            = "invalid_token"
	errInsufficientScope       = "insufficient_scope"
	errLoginRequired           = "login_required"
	errConsentRequired         = "consent_required"
	errUnsupportedTokenType    = "unsupported_token_type"
)

// oauthError is a protocol error on its way to the wire.
type oauthError struct {
	code        string
	description string
	// status is the HTTP status for endpoint (not redirect) responses.
	status int
	// basicChallenge asks the client to authenticate (RFC 6749 5.2: a failed
	// client authentication answers 401 with WWW-Authenticate).
	basicChallenge bool
	// clientID is the client the failed request named, for per-client defects.
	clientID string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func newError(code, description string) *oauthError {
	return &oauthError{code: code, description: description, status: http.StatusBadRequest}
}

func invalidRequest(description string) *oauthError { return newError(errInvalidRequest, description) }
func invalidGrant(description string) *oauthError   { return newError(errInvalidGrant, description) }
func invalidScope(description string) *oauthError   { return newError(errInvalidScope, description) }

func invalidClient(description string) *oauthError {
	return &oauthError{code: errInvalidClient, description: description, status: http.StatusUnauthorized, basicChallenge: true}
}

func unauthorizedClient(description string) *oauthError {
	return newError(errUnauthorizedClient, description)
}

// writeJSONError writes an RFC 6749 5.2 error response: JSON, no-store.
func (p *Provider) writeJSONError(w http.ResponseWriter, e *oauthError) {
	p.writeError(w, e, true)
}

// writeError is writeJSONError with Cache-Control: no-store optional, for
// the no_cache_headers defect.
func (p *Provider) writeError(w http.ResponseWriter, e *oauthError, noStore bool) {
	p.counters.countError(e.code)
	h := w.Header()
	if e.basicChallenge && !p.defectFor(e.clientID, dNoWWWAuthenticate) {
		h.Set("WWW-Authenticate", `Basic realm="grantbench", charset="UTF-8"`)
	}
	buf := make([]byte, 0, 128)
	buf = append(buf, `{"error":`...)
	buf = appendJSONString(buf, e.code)
	if e.description != "" {
		buf = append(buf, `,"error_description":`...)
		buf = appendJSONString(buf, e.description)
	}
	buf = append(buf, '}')
	writeJSON(w, e.status, buf, noStore)
}

// writeJSONBytes sends a JSON body with Cache-Control: no-store, as every
// token, introspection and error response must carry (RFC 6749 5.1).
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	writeJSON(w, status, body, true)
}

func writeJSON(w http.ResponseWriter, status int, body []byte, noStore bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if noStore {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
