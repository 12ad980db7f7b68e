package mockprovider

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/grantbench/grantbench/oauth"
)

// Endpoint names for the request counters; a fixed set, so the admin API's
// counters stay bounded.
var endpointNames = [...]string{"discovery", "jwks", "authorize", "login", "consent", "token",
	"device_authorization", "device", "introspect", "revoke", "userinfo", "end_session", "register", "par", "metrics", "admin", "other"}

// Indexes into endpointNames.
const (
	endpointDiscovery = iota
	endpointJWKS
	endpointAuthorize
	endpointLogin
	endpointConsent
	endpointToken
	endpointDeviceAuthorization
	endpointDevice
	endpointIntrospect
	endpointRevoke
	endpointUserinfo
	endpointEndSession
	endpointRegister
	endpointPAR
	endpointMetrics
	endpointAdmin
	endpointOther
)

// Issued kinds.
const (
	issuedAccessToken = iota
	issuedRefreshToken
	issuedIDToken
	issuedCode
	issuedDeviceCode
	issuedKinds
)

var issuedNames = [issuedKinds]string{"access_token", "refresh_token", "id_token", "authorization_code", "device_code"}

// statusClasses label the responses counters: the class of the HTTP status.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// otherErrorCode labels the error responses whose code is not one of
// oauth.ErrorCodes (a fault's custom code, a defect's made-up one): counted,
// but under one label, so the label set stays fixed.
const otherErrorCode = "other"

// counters are lock-free so that counting never serialises requests. Every
// request the handler is given ends in exactly one of responses (by endpoint
// and status class), dropped or abandoned, so requests[e] equals the sum of
// responses[e][*], dropped[e] and abandoned[e] once no request is in flight.
type counters struct {
	requests  [len(endpointNames)]atomic.Int64
	responses [len(endpointNames)][len(statusClasses)]atomic.Int64
	// dropped counts requests whose connection the provider closed with no
	// answer: a drop fault, a reset stimulus, a handler that panicked.
	dropped [len(endpointNames)]atomic.Int64
	// abandoned counts requests the client gave up on (its connection closed)
	// before the provider answered: a latency fault outwaiting the client.
	abandoned [len(endpointNames)]atomic.Int64
	// errors counts error responses by code, indexed as oauth.ErrorCodes,
	// with the last slot for any other code.
	errors []atomic.Int64
	issued [issuedKinds]atomic.Int64
	// grants counts successful token responses by grant type.
	grants [len(knownGrants)]atomic.Int64

	// serverRead counts the requests the HTTP server started to read (a
	// connection turning active), serverDispatched those it gave the
	// handler; the difference is what net/http refused or cut by itself
	// (headers too large, malformed framing, a request line never finished).
	// Only a Server (StartLocal) counts these.
	serverRead, serverDispatched atomic.Int64
}

func newCounters() counters {
	return counters{errors: make([]atomic.Int64, len(oauth.ErrorCodes)+1)}
}

func (c *counters) countRequest(endpoint int) { c.requests[endpoint].Add(1) }

func (c *counters) countResponse(endpoint, status int) {
	class := status/100 - 1
	if class < 0 || class >= len(statusClasses) {
		class = len(statusClasses) - 1 // a status net/http would refuse to send anyway
	}
	c.responses[endpoint][class].Add(1)
}

func (c *counters) countDropped(endpoint int) { c.dropped[endpoint].Add(1) }

func (c *counters) countAbandoned(endpoint int) { c.abandoned[endpoint].Add(1) }

func (c *counters) countError(code oauth.ErrorCode) {
	i := slices.Index(oauth.ErrorCodes, code)
	if i < 0 {
		i = len(oauth.ErrorCodes)
	}
	c.errors[i].Add(1)
}

func (c *counters) countIssued(kind int) { c.issued[kind].Add(1) }

func (c *counters) countGrant(grant string) {
	for i, g := range knownGrants {
		if g == grant {
			c.grants[i].Add(1)
			return
		}
	}
}

// errorLabel is the errors counter's label of slot i.
func errorLabel(i int) string {
	if i < len(oauth.ErrorCodes) {
		return string(oauth.ErrorCodes[i])
	}
	return otherErrorCode
}

// refusedByServer is how many requests net/http answered or cut before the
// provider's handler saw them.
func (c *counters) refusedByServer() int64 {
	return max(c.serverRead.Load()-c.serverDispatched.Load(), 0)
}

// snapshot renders the counters for the admin API. Responses are keyed
// "endpoint:class", such as "token:5xx".
func (c *counters) snapshot() map[string]map[string]int64 {
	out := map[string]map[string]int64{
		"requests": {}, "responses": {}, "dropped": {}, "abandoned": {}, "errors": {}, "issued": {}, "grants": {},
		"server": {"refused": c.refusedByServer()},
	}
	for i, n := range endpointNames {
		out["requests"][n] = c.requests[i].Load()
		out["dropped"][n] = c.dropped[i].Load()
		out["abandoned"][n] = c.abandoned[i].Load()
		for j, class := range statusClasses {
			out["responses"][n+":"+class] = c.responses[i][j].Load()
		}
	}
	for i := range c.errors {
		out["errors"][errorLabel(i)] = c.errors[i].Load()
	}
	for i, n := range issuedNames {
		out["issued"][n] = c.issued[i].Load()
	}
	for i, n := range knownGrants {
		out["grants"][n] = c.grants[i].Load()
	}
	return out
}

// countingWriter notes the status a handler answers with, so that every
// response is counted whichever of the provider's writers sent it.
type countingWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *countingWriter) WriteHeader(status int) {
	// 1xx are interim responses: the final one is still to come.
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps slow bodies (the slow_body fault) streaming through the wrapper.
func (w *countingWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (the reset stimulus): the request then
// ends without an HTTP answer, so it counts as dropped.
func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countOutcome is deferred by ServeHTTP around every handler: it counts the
// request as answered (by status class), dropped (no answer: a panic,
// including the drop fault's http.ErrAbortHandler, or a hijacked
// connection) or abandoned (the client left before any answer).
func (p *Provider) countOutcome(endpoint int, w *countingWriter, r *http.Request) {
	if v := recover(); v != nil {
		p.counters.countDropped(endpoint)
		panic(v) // net/http closes the connection and, unless aborted, logs
	}
	switch {
	case w.hijacked:
		p.counters.countDropped(endpoint)
	case w.status == 0 && r.Context().Err() != nil:
		p.counters.countAbandoned(endpoint)
	case w.status == 0:
		p.counters.countResponse(endpoint, http.StatusOK) // net/http sends an empty 200
	default:
		p.counters.countResponse(endpoint, w.status)
	}
}
