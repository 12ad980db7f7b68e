package flows

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestTargetClientNeverResendsADroppedGET: the server answers a GET, then
// closes the kept-alive connection when the next GET arrives, without an
// answer. net/http's Transport sent that GET again on a new connection and
// returned the second answer, so the client saw one success where the server
// saw two requests and one drop; through the target's client the drop must be
// the request's error, and the server must see each request once.
func TestTargetClientNeverResendsADroppedGET(t *testing.T) {
	var requests, withBody atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The empty body that stops the resend must not reach the wire.
		if len(r.TransferEncoding) > 0 || r.Header.Get("Content-Length") != "" {
			withBody.Add(1)
		}
		if requests.Add(1) == 2 {
			// Drop the connection as the mock's drop fault does: the request
			// was read, no byte of an answer is written.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	target := &Target{Issuer: srv.URL}
	defer target.CloseIdleConnections()
	rec := NewRecorder(RecordTrace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	get := func() (int, error) {
		req, _ := http.NewRequestWithContext(WithStep(WithRecorder(ctx, rec), "userinfo"), http.MethodGet, srv.URL+"/userinfo", nil)
		resp, err := target.HTTPClient().Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if status, err := get(); err != nil || status != http.StatusOK {
		t.Fatalf("first GET: %d, %v", status, err)
	}
	status, err := get() // on the kept-alive connection, dropped
	if err == nil {
		t.Errorf("the dropped GET came back %d: it was sent again unseen", status)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the server got %d requests for 2 sent", n)
	}
	if n := withBody.Load(); n != 0 {
		t.Errorf("%d GETs went out with a body (Transfer-Encoding or Content-Length)", n)
	}
	steps := rec.Steps()
	if len(steps) != 2 || steps[1].Status != 0 || steps[1].Err == "" {
		t.Errorf("recorded steps %+v, want the second without an answer", steps)
	}
}
