package flows

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"golang.org/x/oauth2"
)

// OAuthError is an OAuth error response: an RFC 6749 5.2 / RFC 8628 3.5 token
// endpoint error, or an RFC 6749 4.1.2.1 error in an authorization response.
// Retrieve is the x/oauth2 error it came from (nil for authorization responses),
// so errors.As finds a *oauth2.RetrieveError too.
type OAuthError struct {
	// Step is the trace step that received the error ("token", "authorize", ...).
	Step string
	// Status is the HTTP status (0 for an authorization response caught at the
	// redirect URI).
	Status      int
	Code        string
	Description string
	URI         string
	// Params are the parameters of an error authorization response (including
	// state and iss), nil for token endpoint errors.
	Params url.Values
	// ErrorPage says the provider showed an error page instead of redirecting
	// (RFC 6749 4.1.2.1: bad redirect URI or client); Code is the page's error.
	ErrorPage bool
	Retrieve  *oauth2.RetrieveError
}

func (e *OAuthError) Error() string {
	msg := fmt.Sprintf("flows: %s: %s", e.Step, e.Code)
	if e.Status != 0 {
		msg = fmt.Sprintf("flows: %s: HTTP %d %s", e.Step, e.Status, e.Code)
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Unwrap returns the underlying *oauth2.RetrieveError, if any.
func (e *OAuthError) Unwrap() error {
	if e.Retrieve == nil {
		return nil
	}
	return e.Retrieve
}

// TransportError means no HTTP response arrived: refused or reset connection,
// timeout, DNS failure, TLS failure.
type TransportError struct {
	Step string
	Err  error
}

func (e *TransportError) Error() string { return "flows: " + e.Step + ": transport: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ResponseError means a response arrived but was not a usable OAuth response: an
// error status without an OAuth error code, a body that is not JSON, a success
// without access_token, a redirect to somewhere unexpected, a page the flow does
// not recognise.
type ResponseError struct {
	Step   string
	Status int
	Reason string
	Err    error
}

func (e *ResponseError) Error() string {
	msg := "flows: " + e.Step + ": "
	if e.Status != 0 {
		msg += fmt.Sprintf("HTTP %d: ", e.Status)
	}
	msg += e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ResponseError) Unwrap() error { return e.Err }

// BrowserError is a failed page step in Chromium. Screenshot is the path of the
// PNG saved when the step failed ("" if none could be taken).
type BrowserError struct {
	Step       string
	URL        string
	Screenshot string
	Err        error
}

func (e *BrowserError) Error() string {
	msg := "flows: browser " + e.Step + ": " + e.Err.Error()
	if e.URL != "" {
		msg += " (at " + redactURL(e.URL) + ")"
	}
	if e.Screenshot != "" {
		msg += "; screenshot " + e.Screenshot
	}
	return msg
}

func (e *BrowserError) Unwrap() error { return e.Err }

// MissingClientError means the profile has no client for the role a flow needs.
type MissingClientError struct{ Role Role }

func (e *MissingClientError) Error() string {
	return fmt.Sprintf("flows: the target profile has no %s client (clients.%s)", e.Role, e.Role)
}

// UnsupportedError means the target lacks something the flow needs: an endpoint
// missing from its metadata, a feature the profile does not claim.
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return "flows: target does not support " + e.What }

// ChromeMissingError means no Chrome or Chromium executable was found.
type ChromeMissingError struct{ Searched []string }

func (e *ChromeMissingError) Error() string {
	return "flows: no Chrome or Chromium found (looked for " + fmt.Sprint(e.Searched) +
		" and $CHROME_PATH); install it with `apt-get install -y chromium` (Debian/Ubuntu, as root) " +
		"or set CHROME_PATH to the browser's executable"
}

// ErrorCode returns the OAuth error code carried by err ("" if none), so callers
// can label failures without type switches.
func ErrorCode(err error) string {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

// classifyTokenError turns an error from x/oauth2 into a typed flows error.
// transportErr is the error the recording transport saw for the step (nil when
// a response arrived).
func classifyTokenError(step string, err error, transportErr error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return &OAuthError{Step: step, Status: status, Code: re.ErrorCode, Description: re.ErrorDescription, URI: re.ErrorURI, Retrieve: re}
		}
		return &ResponseError{Step: step, Status: status, Reason: "error status without an OAuth error code", Err: re}
	}
	if transportErr != nil {
		return &TransportError{Step: step, Err: transportErr}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &TransportError{Step: step, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &TransportError{Step: step, Err: err}
	}
	return &ResponseError{Step: step, Reason: "unusable token response", Err: err}
}

// redactURL shortens the query of a URL for messages: codes, tokens and state
// may be in it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	if u.Fragment != "" {
		u.Fragment = "…"
	}
	return u.String()
}
