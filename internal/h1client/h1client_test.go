package h1client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scripted is a TCP server on 127.0.0.1 that reads each request (up to its
// body, whose length it takes from Content-Length) and answers with the next
// canned bytes; it counts connections.
type scripted struct {
	ln      net.Listener
	answers chan string
	conns   atomic.Int64
}

func newScripted(t *testing.T, answers ...string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln, answers: make(chan string, len(answers))}
	for _, a := range answers {
		s.answers <- a
	}
	close(s.answers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func (s *scripted) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		a, ok := <-s.answers
		if !ok || a == "" {
			return // no more answers: hang up
		}
		if a == "hang" {
			time.Sleep(5 * time.Second)
			return
		}
		if _, err := io.WriteString(c, a); err != nil {
			return
		}
		if strings.Contains(a, "Connection: close") {
			return
		}
	}
}

func do(t *testing.T, tr *Transport, addr string, maxBody int) (Response, string, error) {
	t.Helper()
	req, err := NewRequest("POST", addr, addr, "/token", [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	resp, err := tr.Do(context.Background(), req, "grant_type=client_credentials", time.Now().Add(5*time.Second), &buf, maxBody)
	return resp, buf.String(), err
}

func TestResponsesAreReadAsTheyAreFramed(t *testing.T) {
	for _, tc := range []struct {
		name, answer, body string
		status             int
		reused             bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", "{}", 200, true},
		{"chunked with trailer", "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-T: 1\r\n\r\n", `{"a":1}`, 400, true},
		{"100 continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", "x", 200, true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\ny", "y", 200, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nz", "z", 200, false},
		{"no length", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", "to the end", 200, false},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", "", 204, true},
		{"long header line", "HTTP/1.1 200 OK\r\nSet-Cookie: " + strings.Repeat("c", 9000) + "\r\nContent-Length: 1\r\n\r\nw", "w", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t, tc.answer, tc.answer)
			tr := New(4, time.Second, time.Second)
			defer tr.CloseIdleConnections()
			for i := range 2 {
				resp, body, err := do(t, tr, s.ln.Addr().String(), 1<<10)
				if err != nil || resp.Status != tc.status || body != tc.body {
					t.Fatalf("request %d: status %d body %q error %v; want %d %q", i, resp.Status, body, err, tc.status, tc.body)
				}
			}
			if conns := s.conns.Load(); (conns == 1) != tc.reused {
				t.Errorf("%d connections for 2 requests; reuse wanted: %v", conns, tc.reused)
			}
		})
	}
}

func TestHostileResponsesFailBounded(t *testing.T) {
	for _, tc := range []struct{ name, answer, want string }{
		{"malformed status", "HTTP/9 OK\r\n\r\n", "malformed status line"},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "both Content-Length"},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "Content-Length"},
		{"body too large", "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("a", 2000), "larger than the limit"},
		{"chunked too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("a", 2000) + "\r\n0\r\n\r\n", "larger than the limit"},
		{"huge header line", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("h", 70000) + "\r\n\r\n", "too long"},
		{"endless headers", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", 300) + "\r\n", "too large"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc", "unexpected EOF"},
		{"gzip only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t, tc.answer)
			tr := New(4, time.Second, time.Second)
			defer tr.CloseIdleConnections()
			_, _, err := do(t, tr, s.ln.Addr().String(), 1<<10)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestCancelAndDeadlineEndARequestAtOnce(t *testing.T) {
	s := newScripted(t, "hang", "hang")
	tr := New(4, time.Second, time.Second)
	defer tr.CloseIdleConnections()
	req, _ := NewRequest("POST", s.ln.Addr().String(), "h", "/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := tr.Do(ctx, req, "", time.Now().Add(time.Minute), &bytes.Buffer{}, 10)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled: %v after %v; want context.Canceled at once", err, time.Since(start))
	}
	start = time.Now()
	_, err = tr.Do(context.Background(), req, "", time.Now().Add(50*time.Millisecond), &bytes.Buffer{}, 10)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Errorf("deadline: %v after %v; want a timeout at once", err, time.Since(start))
	}
}

func TestRefusedAndClosedIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := New(4, time.Second, time.Second)
	if _, _, err := do(t, tr, addr, 10); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want ECONNREFUSED", err)
	}
	// A server that closes idle connections: the next request, after the idle
	// check's delay, dials anew instead of failing on the dead connection.
	old := checkIdleAfter
	checkIdleAfter = 0
	defer func() { checkIdleAfter = old }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for i := range 3 {
		if resp, body, err := do(t, tr, host, 10); err != nil || resp.Status != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q %v", i, resp.Status, body, err)
		}
		srv.CloseClientConnections()
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	tr.CloseIdleConnections()
}

func TestNewRequestRefusesLineBreaks(t *testing.T) {
	for _, bad := range [][2]string{{"X", "a\r\nInjected: 1"}, {"X\n", "b"}} {
		if _, err := NewRequest("POST", "127.0.0.1:1", "h", "/", [][2]string{bad}); err == nil {
			t.Errorf("header %q accepted", bad)
		}
	}
	if _, err := NewRequest("POST", "127.0.0.1:1", "h", "/a b", nil); err == nil {
		t.Error("a path with a space accepted")
	}
}
