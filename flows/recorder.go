package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/grantbench/grantbench/trace"
)

// RecordMode chooses how much evidence a flow keeps.
type RecordMode int

const (
	// RecordAll keeps the trace and every raw HTTP exchange (the default; what
	// the suites want as evidence).
	RecordAll RecordMode = iota
	// RecordTrace keeps only the timed steps: no bodies are copied, so it is the
	// cheap mode for the load runner.
	RecordTrace
)

// maxRecordedBody caps how much of a request or response body an exchange keeps.
const maxRecordedBody = 64 << 10

// Recorder collects the steps (and, with RecordAll, the exchanges) of the HTTP
// requests made with a context carrying it (see [WithRecorder]) through a client
// whose transport is [NewRecordingTransport] — as [Target.HTTPClient]'s is. Flows
// make their own; suites can make one to keep evidence of raw requests too. It is
// safe for concurrent use.
type Recorder struct {
	mode RecordMode
	mu   sync.Mutex
	// steps and exchanges grow in the order responses arrived.
	steps     []trace.Step
	exchanges []trace.Exchange
	// transportErr is the last transport failure, kept as the error value itself
	// because x/oauth2 flattens some of them into strings.
	transportErr error
}

// NewRecorder returns an empty recorder.
func NewRecorder(mode RecordMode) *Recorder { return &Recorder{mode: mode} }

// Steps returns a copy of the steps recorded so far.
func (r *Recorder) Steps() []trace.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]trace.Step(nil), r.steps...)
}

// Exchanges returns a copy of the exchanges recorded so far (none with RecordTrace).
func (r *Recorder) Exchanges() []trace.Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]trace.Exchange(nil), r.exchanges...)
}

// AddStep appends a step that did not go through the recording transport, such
// as a browser page step.
func (r *Recorder) AddStep(s trace.Step) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
}

// takeTransportErr returns and clears the last transport failure.
func (r *Recorder) takeTransportErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.transportErr
	r.transportErr = nil
	return err
}

type recorderKey struct{}
type stepKey struct{}

// WithRecorder returns a context whose HTTP requests r records.
func WithRecorder(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// WithStep returns a context whose HTTP requests are recorded under the step name.
func WithStep(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, stepKey{}, name)
}

func recorderFrom(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

func stepFrom(ctx context.Context) string {
	if s, ok := ctx.Value(stepKey{}).(string); ok {
		return s
	}
	return "http"
}

// NewRecordingTransport wraps base (http.DefaultTransport when nil) so requests
// whose context carries a [Recorder] are recorded. Requests without one pass
// through untouched.
func NewRecordingTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &recordingTransport{base: base}
}

// recordingTransport records into the request context's recorder, else into
// its own (bound) one: x/oauth2's DeviceAuth sends a request without the
// caller's context, so flows hand it a client bound to the step instead.
type recordingTransport struct {
	base http.RoundTripper
	// timeout, when set, bounds each request from sending to the end of its
	// body (what http.Client.Timeout would, without its goroutine).
	timeout time.Duration
	rec     *Recorder
	step    string
	// basic, when set, authenticates requests that carry no Authorization
	// header with HTTP Basic: x/oauth2's device requests cannot do it alone.
	basic *Client
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.timeout <= 0 {
		return rt.record(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), rt.timeout)
	resp, err := rt.record(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's timeout once its body is read or closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.cancel()
	}
	return n, err
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// sendOnce returns req as a request net/http's Transport will not send a
// second time. The Transport resends a request whose reused connection broke
// before the first response byte when the request "is replayable"
// (transport.go, persistConn.shouldRetryRequest), and request.go's
// isReplayable says yes for every GET, HEAD, OPTIONS or TRACE whose Body is
// nil or NoBody (or that has GetBody). A provider that drops the connection
// (the mock's drop fault, a proxy's reset) then showed up as one slower
// answer: the provider counted a dropped request, the flow a success.
// Clearing GetBody is not enough for a GET; an empty Body of a type net/http
// does not know, without GetBody, is: isReplayable says no, and the
// nothing-written case retries only with outgoingLength 0, which a non-nil
// Body with ContentLength 0 is not (-1). No byte of it goes on the wire: for
// methods that usually lack a body, the transfer writer reads it once, sees
// io.EOF and sends no body (transfer.go, probeRequestBody). Requests with a
// body are left alone: a POST is not replayable unless it names an
// Idempotency-Key, and nothing here does.
func sendOnce(req *http.Request) *http.Request {
	if req.Body != nil && req.Body != http.NoBody {
		return req
	}
	once := req.WithContext(req.Context()) // a shallow copy: the caller's request is not changed
	once.Body, once.GetBody, once.ContentLength = emptyBody{}, nil, 0
	return once
}

// emptyBody is a request body with nothing in it that net/http cannot rewind.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }

// record sends req, recording it into the context's or the bound recorder.
// Every attempt is one request: net/http never resends it (sendOnce).
func (rt *recordingTransport) record(req *http.Request) (*http.Response, error) {
	req = sendOnce(req)
	if rt.basic != nil && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		// RFC 6749 2.3.1: both parts form-encoded, as x/oauth2 does for tokens.
		req.SetBasicAuth(url.QueryEscape(rt.basic.ClientID), url.QueryEscape(rt.basic.ClientSecret))
	}
	rec, name := recorderFrom(req.Context()), stepFrom(req.Context())
	if rec == nil {
		rec, name = rt.rec, rt.step
	}
	if rec == nil {
		return rt.base.RoundTrip(req)
	}
	step := trace.Step{Name: name, Start: time.Now()}
	var ex *trace.Exchange
	if rec.mode == RecordAll {
		ex = &trace.Exchange{Step: step.Name, Method: req.Method, URL: req.URL.String(), RequestHeader: req.Header.Clone()}
		if req.GetBody != nil {
			if body, err := req.GetBody(); err == nil {
				b, _ := io.ReadAll(io.LimitReader(body, maxRecordedBody))
				body.Close()
				ex.RequestBody = string(b)
			}
		}
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		step.End = time.Now()
		step.Err = err.Error()
		rec.mu.Lock()
		rec.steps = append(rec.steps, step)
		if ex != nil {
			ex.Err = step.Err
			rec.exchanges = append(rec.exchanges, *ex)
		}
		rec.transportErr = err
		rec.mu.Unlock()
		return nil, err
	}
	step.Status = resp.StatusCode
	var body []byte
	// The runner records only steps; it still needs the RFC error code of error
	// responses, which are small, so only those bodies are read in that mode.
	if ex != nil || resp.StatusCode >= 400 {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			step.Err = "reading body: " + err.Error()
			// The caller must see the failure too, not a body cut short.
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), failingReader{err}))
			rec.mu.Lock()
			rec.transportErr = err
			rec.mu.Unlock()
		}
	}
	step.End = time.Now()
	step.OAuthError = oauthErrorCode(resp, body)
	rec.mu.Lock()
	rec.steps = append(rec.steps, step)
	if ex != nil {
		ex.Status = resp.StatusCode
		ex.ResponseHeader = resp.Header.Clone()
		if len(body) > maxRecordedBody {
			body = body[:maxRecordedBody]
		}
		ex.ResponseBody = string(body)
		ex.Err = step.Err
		rec.exchanges = append(rec.exchanges, *ex)
	}
	rec.mu.Unlock()
	return resp, nil
}

// oauthErrorCode finds the OAuth error code of a response: in a JSON or form body
// (RFC 6749 5.2) or in the query or fragment of a redirect (RFC 6749 4.1.2.1).
func oauthErrorCode(resp *http.Response, body []byte) string {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return ""
		}
		if code := loc.Query().Get("error"); code != "" {
			return code
		}
		frag, _ := url.ParseQuery(loc.Fragment)
		return frag.Get("error")
	}
	if len(body) == 0 {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil {
			return e.Error
		}
	case mt == "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(body)); err == nil {
			return v.Get("error")
		}
	}
	return ""
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }
