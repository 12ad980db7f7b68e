// Package trace holds the record of what a flow did on the wire: the timed steps
// the runner measures and the raw exchanges the suites cite as evidence. It is a
// leaf package (standard library only) so that flows, which records traces, and
// runner, suites and reports, which read them, share one type without reports or
// runner's core pulling in the browser or HTTP client machinery of flows.
package trace

import (
	"net/http"
	"time"
)

// Step is one timed exchange inside a flow: the unit the runner measures and the
// suites cite as evidence. Steps are recorded in the order they happened.
type Step struct {
	// Name is a short, bounded step name such as "authorize", "login",
	// "consent", "token", "refresh", "device_authorization", "device_poll",
	// "device_verify", "userinfo", "introspect" or "revoke"; safe to use as a
	// metric label. Flows record one step per HTTP request (a login POST and
	// the redirect it answers are two "login" steps) or per browser page step.
	Name  string
	Start time.Time
	End   time.Time
	// Status is the HTTP status code, 0 when no response arrived.
	Status int
	// OAuthError is the RFC 6749 / RFC 8628 error code of the response, "" if none.
	OAuthError string
	// Err describes a transport or parse failure, "" if none.
	Err string
}

// Duration is how long the step took.
func (s Step) Duration() time.Duration { return s.End.Sub(s.Start) }

// Exchange is one raw HTTP request and response, kept as evidence for reports.
// It holds secrets as sent: reports redact them before writing anything out.
type Exchange struct {
	Step           string
	Method         string
	URL            string
	RequestHeader  http.Header
	RequestBody    string
	Status         int
	ResponseHeader http.Header
	ResponseBody   string
	Err            string
}
