package rpapp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartReportsAnAppThatDies(t *testing.T) {
	r := &Rendered{BaseURL: "http://127.0.0.1:1", Command: []string{"sh", "-c", "echo starting up; echo 'fatal: no ISSUER' >&2; exit 7"}, Dir: t.TempDir()}
	started := time.Now()
	_, err := Start(context.Background(), r, "/healthz", filepath.Join(t.TempDir(), "app.log"))
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("want a *StartError, got %v", err)
	}
	if !strings.Contains(se.Error(), "exit status 7") || !strings.Contains(se.LogTail, "fatal: no ISSUER") {
		t.Fatalf("error %q lacks the exit status or the log tail", se)
	}
	if time.Since(started) > 10*time.Second {
		t.Fatalf("took %s to notice the exit", time.Since(started))
	}
}

func TestStartGivesUpOnAnAppThatNeverGetsReady(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &Rendered{BaseURL: "http://127.0.0.1:" + strconv.Itoa(port), Command: []string{"sh", "-c", "echo waiting forever; exec sleep 60"}, Dir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel) // stands in for the 30 s limit
	_, err = Start(ctx, r, "/healthz", filepath.Join(t.TempDir(), "app.log"))
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(se.LogTail, "waiting forever") {
		t.Fatalf("want a *StartError with the log tail, got %v", err)
	}
}

func TestStartWaitsForAnyAnswerAndStopEndsTheGroup(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// A shell whose child serves; a 302 counts as an answer. Stop must end
	// the child too (the process group), so the port frees.
	script := `python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302); self.send_header("Location", "/elsewhere"); self.end_headers()
http.server.HTTPServer(("127.0.0.1", ` + strconv.Itoa(port) + `), H).serve_forever()' & wait`
	r := &Rendered{BaseURL: "http://127.0.0.1:" + strconv.Itoa(port), Command: []string{"sh", "-c", script}, Dir: t.TempDir()}
	a, err := Start(context.Background(), r, "/healthz", filepath.Join(t.TempDir(), "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Died(); err != nil {
		t.Fatalf("died: %v", err)
	}
	a.Stop()
	if _, err := http.Get(r.BaseURL + "/healthz"); err == nil {
		t.Fatal("the app still answers after Stop")
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port still taken after Stop: %v", err)
	}
	l.Close()
}
