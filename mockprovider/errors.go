package mockprovider

import (
	"net/http"

	"github.com/grantbench/grantbench/oauth"
)

// oauthError is a protocol error on its way to the wire.
type oauthError struct {
	code        oauth.ErrorCode
	description string
	// status is the HTTP status for endpoint (not redirect) responses.
	status int
	// basicChallenge asks the client to authenticate (RFC 6749 5.2: a failed
	// client authentication answers 401 with WWW-Authenticate).
	basicChallenge bool
	// clientID is the client the failed request named, for per-client defects.
	clientID string
}

func (e *oauthError) Error() string { return string(e.code) + ": " + e.description }

func newError(code oauth.ErrorCode, description string) *oauthError {
	return &oauthError{code: code, description: description, status: http.StatusBadRequest}
}

func invalidRequest(description string) *oauthError {
	return newError(oauth.InvalidRequest, description)
}
func invalidGrant(description string) *oauthError { return newError(oauth.InvalidGrant, description) }
func invalidScope(description string) *oauthError { return newError(oauth.InvalidScope, description) }

func invalidClient(description string) *oauthError {
	return &oauthError{code: oauth.InvalidClient, description: description, status: http.StatusUnauthorized, basicChallenge: true}
}

func unauthorizedClient(description string) *oauthError {
	return newError(oauth.UnauthorizedClient, description)
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
	buf = appendJSONString(buf, string(e.code))
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
