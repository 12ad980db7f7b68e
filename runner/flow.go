package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/grantbench/grantbench/loadresult"
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

// ClassifyError maps the error that ended an iteration to an outcome from the
// standard library's typed errors, never the error text. runCtx is the context the
// iteration ran under: an error after it was cancelled is an interruption, not a
// fault of the target.
func ClassifyError(runCtx context.Context, err error) string {
	if err == nil {
		return loadresult.OutcomeOK
	}
	if runCtx.Err() != nil {
		return loadresult.OutcomeInterrupted
	}
	return classifyTransport(err)
}

// classifyTransport sorts errors that carry no HTTP response.
func classifyTransport(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return loadresult.OutcomeTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return loadresult.OutcomeRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return loadresult.OutcomeReset
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return loadresult.OutcomeBadResponse
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return loadresult.OutcomeTransport
	}
	return loadresult.OutcomeError
}

// stepOutcome is the outcome of one step. The step that ended a failed iteration
// takes the iteration's outcome; the others are judged from what they recorded.
func stepOutcome(s trace.Step, last bool, iterationOutcome string) string {
	if s.OAuthError == string(oauth.AuthorizationPending) || s.OAuthError == string(oauth.SlowDown) {
		if !last || iterationOutcome == loadresult.OutcomeOK {
			return loadresult.OutcomePending
		}
	}
	if last && iterationOutcome != loadresult.OutcomeOK {
		return iterationOutcome
	}
	switch {
	case s.OAuthError != "":
		return loadresult.OutcomeOAuthError
	case s.Status >= 400:
		return loadresult.OutcomeHTTPError
	case s.Err != "" && s.Status == 0:
		return loadresult.OutcomeTransport
	case s.Err != "":
		return loadresult.OutcomeBadResponse
	}
	return loadresult.OutcomeOK
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
