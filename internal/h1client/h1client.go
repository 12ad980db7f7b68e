// Package h1client sends small HTTP/1.1 requests over kept-alive plain-TCP
// connections in the caller's goroutine: the load runner's hot path for
// prepared token requests (flows.PreparedTokenRequest).
//
// net/http's Transport runs two goroutines per connection and hands every
// request and response between them and the caller over channels; against a
// server that answers at once that hand-off, its per-request allocations and
// the scheduler's work cost more CPU than the system calls themselves, and made
// grantbench 0.72x wrk's rate when the client was the bottleneck (issue 13).
// Here a request is one write of prepared bytes and a read of the response on
// a connection taken from a small pool; status line, headers (Content-Length,
// Transfer-Encoding, Content-Type, Connection) and body are parsed with bounds,
// chunked bodies included. What it does not do, the caller keeps net/http for:
// TLS, HTTP/2, proxies, redirects, compression, 1xx beyond skipping them.
package h1client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits on what a response may hold; past them the connection is closed and
// the request fails, so a hostile server cannot make the client buffer without
// end.
const (
	maxHeaderBytes = 64 << 10
	maxHeaderLines = 256
)

// ErrBodyTooLarge is returned for a response body larger than the caller's limit.
var ErrBodyTooLarge = errors.New("h1client: response body larger than the limit")

// Transport holds the idle connections of each host:port. It has no
// goroutines of its own; the zero value is not usable, call New.
type Transport struct {
	maxIdlePerHost int
	dialer         net.Dialer
	mu             sync.Mutex
	idle           map[string][]*conn
}

// New returns a Transport keeping at most maxIdlePerHost idle connections per
// host (at least 1).
func New(maxIdlePerHost int, dialTimeout, keepAlive time.Duration) *Transport {
	return &Transport{maxIdlePerHost: max(maxIdlePerHost, 1), idle: map[string][]*conn{},
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}}
}

// CloseIdleConnections closes the idle connections. As with net/http's
// Transport, a connection in use goes back to the pool when its request ends.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*conn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
}

type conn struct {
	nc        net.Conn
	br        *bufio.Reader
	out       []byte    // the request being written, reused
	long      []byte    // a header line longer than br's buffer
	idleSince time.Time // when it went back to the pool
}

// checkIdleAfter is how long a connection may sit idle before it is checked,
// on reuse, for having been closed by the server (servers close idle
// connections after seconds, never sooner). A request is never sent twice, as
// net/http does not resend a POST: a dropped request is counted once.
var checkIdleAfter = time.Second

func (t *Transport) get(addr string) *conn {
	for {
		t.mu.Lock()
		list := t.idle[addr]
		n := len(list)
		if n == 0 {
			t.mu.Unlock()
			return nil
		}
		c := list[n-1]
		list[n-1] = nil
		t.idle[addr] = list[:n-1]
		t.mu.Unlock()
		if time.Since(c.idleSince) < checkIdleAfter || stillOpen(c.nc) {
			return c
		}
		c.nc.Close()
	}
}

func (t *Transport) put(addr string, c *conn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle[addr]) < t.maxIdlePerHost {
		t.idle[addr] = append(t.idle[addr], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.nc.Close()
}

// Request is a request prepared once: Head is everything before the
// Content-Length header ("POST /token HTTP/1.1\r\nHost: ...\r\n..."), built by
// NewRequest; each Do appends the length and the body.
type Request struct {
	Addr string
	Head []byte
}

// NewRequest prepares a request to addr (host:port) with the given path, host
// header and other headers, in order. Header names and values must not hold
// CR or LF.
func NewRequest(method, addr, host, path string, headers [][2]string) (*Request, error) {
	var b bytes.Buffer
	for _, s := range []string{method, host, path} {
		if s == "" || strings.ContainsAny(s, "\r\n ") {
			return nil, fmt.Errorf("h1client: %q is empty or holds a space or line break", s)
		}
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	for _, h := range headers {
		if strings.ContainsAny(h[0]+h[1], "\r\n") {
			return nil, fmt.Errorf("h1client: header %q holds a line break", h[0])
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	return &Request{Addr: addr, Head: b.Bytes()}, nil
}

// Response is what came back; the body is in the caller's buffer (see Do).
// When Do fails after the status line, Status is set beside the error.
type Response struct {
	Status      int
	ContentType string
}

// aLongTimeAgo is a deadline in the past: setting it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// Do sends req with body and reads the response, its body into dst (at most
// maxBody bytes), in the caller's goroutine. The request ends at deadline or
// when ctx is done, whichever comes first; a cancelled request returns ctx's
// error.
func (t *Transport) Do(ctx context.Context, req *Request, body string, deadline time.Time, dst *bytes.Buffer, maxBody int) (Response, error) {
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c := t.get(req.Addr)
	if c == nil {
		dialCtx, cancel := context.WithDeadline(ctx, deadline)
		nc, err := t.dialer.DialContext(dialCtx, "tcp", req.Addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return Response{}, ctx.Err()
			}
			return Response{}, err
		}
		c = &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	}
	resp, keep, err := c.roundTrip(ctx, req, body, deadline, dst, maxBody)
	if err == nil {
		if keep {
			t.put(req.Addr, c)
		} else {
			c.nc.Close()
		}
		return resp, nil
	}
	c.nc.Close()
	if ctx.Err() != nil {
		return resp, ctx.Err()
	}
	return resp, err
}

// roundTrip writes the request and reads the response. keep says whether the
// connection may carry another request.
func (c *conn) roundTrip(ctx context.Context, req *Request, body string, deadline time.Time, dst *bytes.Buffer, maxBody int) (resp Response, keep bool, err error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return Response{}, false, err
	}
	// Cancelling ctx makes blocked I/O return at once; no goroutine waits for it.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	defer stop()

	c.out = append(c.out[:0], req.Head...)
	c.out = append(c.out, "Content-Length: "...)
	c.out = strconv.AppendInt(c.out, int64(len(body)), 10)
	c.out = append(c.out, "\r\n\r\n"...)
	c.out = append(c.out, body...)
	if _, err := c.nc.Write(c.out); err != nil {
		return Response{}, false, err
	}
	for {
		r, h, err := c.readHead()
		if err != nil {
			return Response{}, false, err
		}
		if r.status >= 100 && r.status < 200 && r.status != 101 {
			continue // 100 Continue, 103 Early Hints: the real response follows
		}
		resp = Response{Status: r.status, ContentType: h.contentType}
		keep, err = c.readBody(h, r, dst, maxBody)
		return resp, keep && !h.close && r.http11, err
	}
}

type statusLine struct {
	status int
	http11 bool
}

type headers struct {
	contentType   string
	contentLength int64 // -1: none
	chunked       bool
	close         bool
}

// readHead reads a status line and the headers after it.
func (c *conn) readHead() (statusLine, headers, error) {
	var sl statusLine
	h := headers{contentLength: -1}
	line, err := c.readLine()
	if err != nil {
		return sl, h, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return sl, h, fmt.Errorf("h1client: malformed status line %q", truncate(line))
	}
	sl.http11 = line[7] == '1'
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 || code > 999 || (len(line) > 12 && line[12] != ' ') {
		return sl, h, fmt.Errorf("h1client: malformed status line %q", truncate(line))
	}
	sl.status = code
	total := len(line)
	for n := 0; ; n++ {
		line, err := c.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return sl, h, err
		}
		if len(line) == 0 {
			return sl, h, nil
		}
		total += len(line)
		if total > maxHeaderBytes || n >= maxHeaderLines {
			return sl, h, errors.New("h1client: response headers too large")
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return sl, h, fmt.Errorf("h1client: malformed header line %q", truncate(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.contentLength >= 0 && h.contentLength != n) {
				return sl, h, fmt.Errorf("h1client: bad Content-Length %q", truncate(value))
			}
			h.contentLength = n
		case asciiEqualFold(name, "transfer-encoding"):
			if !asciiEqualFold(value, "chunked") {
				return sl, h, fmt.Errorf("h1client: unsupported Transfer-Encoding %q", truncate(value))
			}
			h.chunked = true
		case asciiEqualFold(name, "content-type"):
			h.contentType = string(value)
		case asciiEqualFold(name, "connection"):
			h.close = h.close || bytes.Contains(bytes.ToLower(value), []byte("close"))
		}
	}
}

// readLine reads one line without its CRLF (or LF). A line longer than the
// read buffer is gathered in c.long, up to maxHeaderBytes.
func (c *conn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		c.long = append(c.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(c.long) > maxHeaderBytes {
				return nil, errors.New("h1client: response header line too long")
			}
			line, err = c.br.ReadSlice('\n')
			c.long = append(c.long, line...)
		}
		line = c.long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readBody reads the body the headers announce into dst; keep is false when
// the body ran to the connection's end.
func (c *conn) readBody(h headers, sl statusLine, dst *bytes.Buffer, maxBody int) (keep bool, err error) {
	if sl.status == 204 || sl.status == 304 {
		return true, nil
	}
	switch {
	case h.chunked: // RFC 9112 6.3: chunked wins over Content-Length
		if h.contentLength >= 0 {
			return false, errors.New("h1client: response with both Content-Length and Transfer-Encoding")
		}
		if err := readLimited(dst, httputil.NewChunkedReader(c.br), maxBody); err != nil {
			return false, err
		}
		// The trailer section, up to its empty line.
		for n := 0; ; n++ {
			line, err := c.readLine()
			if err != nil {
				return false, err
			}
			if len(line) == 0 {
				return true, nil
			}
			if n >= maxHeaderLines {
				return false, errors.New("h1client: response trailers too large")
			}
		}
	case h.contentLength >= 0:
		if h.contentLength > int64(maxBody) {
			return false, ErrBodyTooLarge
		}
		dst.Grow(int(h.contentLength))
		if _, err := io.CopyN(dst, c.br, h.contentLength); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return false, err
		}
		return true, nil
	default: // the body runs to the end of the connection
		return false, readLimited(dst, c.br, maxBody)
	}
}

func readLimited(dst *bytes.Buffer, r io.Reader, maxBody int) error {
	n, err := dst.ReadFrom(io.LimitReader(r, int64(maxBody)+1))
	if err != nil {
		return err
	}
	if n > int64(maxBody) {
		return ErrBodyTooLarge
	}
	return nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != s[i] {
			return false
		}
	}
	return true
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
