package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/trace"
)

// Flow is one grant the runner replays. Run performs one iteration and returns
// the steps it took, in order, and the error that ended it (nil on success). Run is
// called from many goroutines at once and must be safe for that; it must return
// promptly once ctx is done.
type Flow interface {
	Name() string
	Run(ctx context.Context) ([]trace.Step, error)
}

// Classifier maps the error that ended an iteration to an outcome. Adapters that
// know richer error types (runner/grants knows the flows package's) wrap
// ClassifyError.
type Classifier func(runCtx context.Context, err error) string

// Preparer is implemented by flows that need material before the timed phase:
// refresh tokens, browser sessions, approved device codes. Prepare runs once, untimed,
// before any scenario starts, so the measurement covers the endpoint and not the
// seeding.
type Preparer interface {
	Prepare(ctx context.Context, need SetupNeed) error
}

// SetupNeed tells a Preparer how much to seed.
type SetupNeed struct {
	// Concurrency is the most iterations that can run at once (max in flight, or workers).
	Concurrency int
	// Iterations is how many iterations are planned at most (0: unknown, bounded
	// only by duration).
	Iterations int64
}

// Outcomes: how an iteration or a request ended. Bounded, so safe as a metric label.
const (
	OutcomeOK = "ok"
	// OutcomeOAuthError: the target answered with an RFC 6749 / RFC 8628 error code.
	OutcomeOAuthError = "oauth_error"
	// OutcomeHTTPError: an error status (4xx, 5xx) without an OAuth error code.
	OutcomeHTTPError = "http_error"
	// OutcomeBadResponse: a response arrived but was unusable (malformed JSON, no
	// access_token, unexpected redirect).
	OutcomeBadResponse = "bad_response"
	OutcomeTimeout     = "timeout"
	OutcomeRefused     = "connection_refused"
	OutcomeReset       = "connection_reset"
	// OutcomeTransport: another transport failure (DNS, TLS, ...).
	OutcomeTransport = "transport_error"
	// OutcomeBrowser: a page step in the browser failed.
	OutcomeBrowser = "browser_error"
	// OutcomePending: a device-flow poll answered authorization_pending or
	// slow_down, which is the protocol working as designed, not an error.
	OutcomePending = "pending"
	// OutcomeInterrupted: the run ended (Ctrl-C, or the graceful stop ran out)
	// while the iteration was in flight. Not counted in error rates.
	OutcomeInterrupted = "interrupted"
	// OutcomeError: anything else.
	OutcomeError = "error"
)

// ClassifyError maps the error that ended an iteration to an outcome from the
// standard library's typed errors, never the error text. runCtx is the context the
// iteration ran under: an error after it was cancelled is an interruption, not a
// fault of the target.
func ClassifyError(runCtx context.Context, err error) string {
	if err == nil {
		return OutcomeOK
	}
	if runCtx.Err() != nil {
		return OutcomeInterrupted
	}
	return classifyTransport(err)
}

// classifyTransport sorts errors that carry no HTTP response.
func classifyTransport(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return OutcomeTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return OutcomeReset
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return OutcomeBadResponse
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return OutcomeTransport
	}
	return OutcomeError
}

// stepOutcome is the outcome of one step. The step that ended a failed iteration
// takes the iteration's outcome; the others are judged from what they recorded.
func stepOutcome(s trace.Step, last bool, iterationOutcome string) string {
	if s.OAuthError == string(oauth.AuthorizationPending) || s.OAuthError == string(oauth.SlowDown) {
		if !last || iterationOutcome == OutcomeOK {
			return OutcomePending
		}
	}
	if last && iterationOutcome != OutcomeOK {
		return iterationOutcome
	}
	switch {
	case s.OAuthError != "":
		return OutcomeOAuthError
	case s.Status >= 400:
		return OutcomeHTTPError
	case s.Err != "" && s.Status == 0:
		return OutcomeTransport
	case s.Err != "":
		return OutcomeBadResponse
	}
	return OutcomeOK
}

// statusClass is the bounded label for an HTTP status: "2xx" ... "5xx", or "none"
// when no response arrived.
func statusClass(status int) string {
	switch {
	case status >= 100 && status < 200:
		return "1xx"
	case status >= 200 && status < 300:
		return "2xx"
	case status >= 300 && status < 400:
		return "3xx"
	case status >= 400 && status < 500:
		return "4xx"
	case status >= 500 && status < 600:
		return "5xx"
	}
	return "none"
}

// oauthErrorLabel bounds an error code to the registered ones (oauth.ErrorCodes):
// anything else a target sends is labelled "other", so a misbehaving target cannot
// blow up the label set.
func oauthErrorLabel(code string) string {
	if code == "" || oauth.Registered(code) {
		return code
	}
	return "other"
}
