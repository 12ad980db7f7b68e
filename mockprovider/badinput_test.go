package mockprovider

// Bad input, in two layers: badRequests are malformed requests for every
// endpoint served in-process (and the token endpoint's fuzz seeds);
// wireCases are the hostile-request classes of issue 13's probe sent as raw
// bytes over TCP, for what only the wire shows (net/http's framing, refusals
// and connection closes). hostile_test.go checks the exact RFC error of each
// protocol-level case.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// badRequests are hostile or malformed requests for every endpoint.
var badRequests = []struct{ method, target, contentType, body, auth string }{
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=%00%ff", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=refresh_token", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=password&username=alice", "Basic ZGVtby1sZWdhY3k6bGVnYWN5LXNlY3JldA=="},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=demo-public", ""},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic !!!"},
	{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "Bearer abc"},
	{"POST", "/token", "multipart/form-data; boundary=x", "--x--", ""},
	{"POST", "/token", "application/x-www-form-urlencoded; charset=%", "a=b", ""},
	{"POST", "/token", "application/x-www-form-urlencoded", "scope=" + strings.Repeat("%20", 5000) + "&grant_type=client_credentials", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"PUT", "/token", "", "", ""},
	{"GET", "/authorize?client_id=demo&redirect_uri=%zz", "", "", ""},
	{"GET", "/authorize?client_id=demo&client_id=demo", "", "", ""},
	{"GET", "/authorize?client_id=demo&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&response_type=code&scope=%22%5C", "", "", ""},
	{"POST", "/authorize", "application/x-www-form-urlencoded", "client_id=demo", ""},
	{"POST", "/login", "application/x-www-form-urlencoded", "interaction=x&csrf_token=y", ""},
	{"POST", "/login", "text/plain", "x", ""},
	{"GET", "/login?interaction=nope", "", "", ""},
	{"POST", "/consent", "application/x-www-form-urlencoded", "decision=approve", ""},
	{"GET", "/consent", "", "", ""},
	{"POST", "/device", "application/x-www-form-urlencoded", "user_code=" + strings.Repeat("B", 100000), ""},
	{"GET", "/device?user_code=%3Cscript%3E", "", "", ""},
	{"POST", "/device_authorization", "application/x-www-form-urlencoded", "client_id=nobody", ""},
	{"GET", "/device_authorization", "", "", ""},
	{"POST", "/introspect", "application/x-www-form-urlencoded", "token=a&token=b", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"POST", "/revoke", "application/json", "{}", "Basic ZGVtbzpkZW1vLXNlY3JldA=="},
	{"GET", "/userinfo", "", "", "Bearer"},
	{"GET", "/userinfo", "", "", "Basic eDp5"},
	{"DELETE", "/userinfo", "", "", ""},
	{"POST", "/jwks", "", "", ""},
	{"GET", "/admin/clock", "", "", "Bearer x"},
	{"GET", "/nowhere", "", "", ""},
}

func TestBadInputNeverServerError(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	for _, bad := range badRequests {
		req := httptest.NewRequest(bad.method, bad.target, strings.NewReader(bad.body))
		if bad.contentType != "" {
			req.Header.Set("Content-Type", bad.contentType)
		}
		if bad.auth != "" {
			req.Header.Set("Authorization", bad.auth)
		}
		rec := httptest.NewRecorder()
		f.p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s: status %d", bad.method, truncate(bad.target, 60), rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<script>") {
			t.Errorf("%s %s: reflected markup unescaped", bad.method, bad.target)
		}
	}
}

// FuzzTokenEndpoint: whatever the body, the token endpoint answers with a
// JSON error or a token, never a 5xx or a panic.
func FuzzTokenEndpoint(f *testing.F) {
	for _, bad := range badRequests {
		if bad.target == "/token" {
			f.Add(bad.contentType, bad.body, bad.auth)
		}
	}
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic ZGVtbzpkZW1vLXNlY3JldA==")
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, contentType, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		fx.p.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("no Cache-Control: no-store")
		}
	})
}

// wireCase is one hostile request sent as raw bytes over TCP to a provider
// served by StartLocal, for what an in-process handler test cannot see: how
// net/http frames, refuses and closes.
type wireCase struct {
	name string
	// raw is the request as sent; stream, when set, writes after raw until
	// the connection fails or the case's time is up (an endless body).
	raw    string
	stream func(w io.Writer) error
	// want is the status of the first response (0: any 4xx); want501 marks
	// the transfer codings net/http does not implement (RFC 9112 6.1 asks
	// for 501 there).
	want int
	// mustClose: the server must close the connection after the first
	// response, serving nothing else that was sent on it.
	mustClose bool
}

const (
	wireHost      = "Host: 127.0.0.1\r\n"
	wireForm      = "Content-Type: application/x-www-form-urlencoded\r\n"
	wireDemoBasic = "Authorization: " + demoBasic + "\r\n"
	wireCCBody    = "grant_type=client_credentials"
	// wireSmuggled is a second request hidden in a body; no case asks for
	// discovery, so if it is ever served the discovery counter shows it.
	wireSmuggled = "GET /.well-known/openid-configuration HTTP/1.1\r\n" + wireHost + "\r\n"
)

func tokenPost(headers, body string) string {
	return "POST /token HTTP/1.1\r\n" + wireHost + wireForm + headers + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

func wireCases() []wireCase {
	endlessChunks := func(w io.Writer) error {
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 16<<10, strings.Repeat("a", 16<<10))
		for {
			if _, err := io.WriteString(w, chunk); err != nil {
				return err
			}
		}
	}
	tenMB := strings.Repeat("a", 10<<20)
	smuggleBody := "0\r\n\r\n" + wireSmuggled
	return []wireCase{
		// Control: a well-formed request gets its token.
		{name: "control", raw: tokenPost(wireDemoBasic, wireCCBody), want: 200},

		// Huge headers.
		{name: "one 64 KiB header", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + "X-Big: " + strings.Repeat("b", 64<<10) + "\r\n\r\n", want: 431, mustClose: true},
		{name: "8000 small headers", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + strings.Repeat("X-A: b\r\n", 8000) + "\r\n", want: 431, mustClose: true},
		{name: "64 KiB request line", raw: "GET /authorize?client_id=" + strings.Repeat("d", 64<<10) + " HTTP/1.1\r\n" + wireHost + "\r\n", want: 431, mustClose: true},

		// Large and endless bodies.
		{name: "10 MB form body", raw: tokenPost(wireDemoBasic, wireCCBody+"&x="+tenMB), want: 400, mustClose: true},
		{name: "endless chunked body", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic + "Transfer-Encoding: chunked\r\n\r\n", stream: endlessChunks, want: 400, mustClose: true},
		{name: "chunk size overflow", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\na\r\n0\r\n\r\n", want: 400, mustClose: true},

		// NUL and invalid UTF-8.
		{name: "NUL in a header value", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + "X-A: a\x00b\r\n\r\n", want: 400, mustClose: true},
		{name: "NUL in the request target", raw: "GET /jw\x00ks HTTP/1.1\r\n" + wireHost + "\r\n", want: 400, mustClose: true},
		{name: "NUL in a header name", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + "X-\x00: a\r\n\r\n", want: 400, mustClose: true},
		{name: "invalid UTF-8 in Basic credentials", raw: tokenPost("Authorization: Basic \xff\xfe\r\n", wireCCBody), want: 401},
		{name: "invalid UTF-8 in the path", raw: "GET /tok\xffen HTTP/1.1\r\n" + wireHost + "\r\n", want: 0},
		{name: "invalid UTF-8 in the body", raw: tokenPost(wireDemoBasic, wireCCBody+"&scope=\xff\xfe"), want: 400},
		{name: "NUL in the body", raw: tokenPost(wireDemoBasic, wireCCBody+"\x00"), want: 400},

		// Duplicated parameters and headers.
		{name: "two Authorization headers", raw: tokenPost(wireDemoBasic+"Authorization: "+basic("demo-legacy", "legacy-secret")+"\r\n", wireCCBody), want: 400},
		{name: "the same Authorization twice", raw: tokenPost(wireDemoBasic+wireDemoBasic, wireCCBody), want: 400},
		{name: "two bearer tokens at userinfo", raw: "GET /userinfo HTTP/1.1\r\n" + wireHost + "Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", want: 400},
		{name: "two Content-Type headers", raw: tokenPost("Content-Type: text/plain\r\n"+wireDemoBasic, wireCCBody), want: 400},
		{name: "two Host headers", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + "Host: evil.example\r\n\r\n", want: 400, mustClose: true},
		{name: "duplicated grant_type", raw: tokenPost(wireDemoBasic, wireCCBody+"&grant_type=password"), want: 400},
		{name: "duplicated client_id in the query", raw: "GET /authorize?client_id=demo&client_id=demo-public&response_type=code HTTP/1.1\r\n" + wireHost + "\r\n", want: 400},

		// Request smuggling: framing a front proxy could read differently.
		{name: "Content-Length and Transfer-Encoding", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic +
			fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", len(smuggleBody)) + smuggleBody, want: 400, mustClose: true},
		{name: "Transfer-Encoding before Content-Length", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic +
			"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(wireCCBody), wireCCBody) + wireSmuggled, want: 200, mustClose: true},
		{name: "two different Content-Lengths", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic + "Content-Length: 29\r\nContent-Length: 0\r\n\r\n" + wireCCBody, want: 400, mustClose: true},
		{name: "Content-Length list", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + wireDemoBasic + "Content-Length: 29, 0\r\n\r\n" + wireCCBody, want: 400, mustClose: true},
		{name: "negative Content-Length", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Content-Length: -1\r\n\r\n" + wireSmuggled, want: 400, mustClose: true},
		{name: "plus-signed Content-Length", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Content-Length: +29\r\n\r\n" + wireCCBody, want: 400, mustClose: true},
		{name: "space before the colon", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Content-Length : 29\r\n\r\n" + wireCCBody, want: 400, mustClose: true},
		// RFC 9112 5.2 lets a server replace an obs-fold by a space, as net/http does.
		{name: "obsolete line folding", raw: "GET /jwks HTTP/1.1\r\n" + wireHost + "X-A: a\r\n b\r\n\r\n", want: 200},
		{name: "Transfer-Encoding twice", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + wireSmuggled, want: 501, mustClose: true},
		{name: "Transfer-Encoding xchunked", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Transfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\n0\r\n" + wireSmuggled, want: 501, mustClose: true},
		{name: "Transfer-Encoding gzip, chunked", raw: "POST /token HTTP/1.1\r\n" + wireHost + wireForm + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + wireSmuggled, want: 501, mustClose: true},
		// RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
		// framing; it may be processed (by its Content-Length, which is
		// what net/http reads), then the connection must close.
		{name: "HTTP/1.0 with Transfer-Encoding", raw: "POST /token HTTP/1.0\r\n" + wireHost + wireForm + wireDemoBasic + "Transfer-Encoding: chunked\r\nContent-Length: 29\r\n\r\n" + wireCCBody + wireSmuggled, want: 200, mustClose: true},
		{name: "HTTP/1.0 keep-alive with Transfer-Encoding", raw: "POST /token HTTP/1.0\r\n" + wireHost + wireForm + wireDemoBasic + "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 29\r\n\r\n" + wireCCBody + wireSmuggled, want: 200, mustClose: true},

		// Hostile redirect URIs, raw on the wire: an error page, never a redirect.
		{name: "CRLF in redirect_uri", raw: "GET /authorize?client_id=demo&response_type=code&redirect_uri=http://127.0.0.1/callback%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\n" + wireHost + "\r\n", want: 400},
		{name: "raw space in redirect_uri", raw: "GET /authorize?client_id=demo&redirect_uri=http://evil.example/ x HTTP/1.1\r\n" + wireHost + "\r\n", want: 400, mustClose: true},
		{name: "backslash redirect_uri", raw: "GET /authorize?client_id=demo&response_type=code&redirect_uri=http://evil.example\\@127.0.0.1/callback HTTP/1.1\r\n" + wireHost + "\r\n", want: 400},
		{name: "protocol-relative redirect_uri", raw: "GET /authorize?client_id=demo&response_type=code&redirect_uri=//evil.example/callback HTTP/1.1\r\n" + wireHost + "\r\n", want: 400},
		{name: "absolute-form target to another host", raw: "GET http://evil.example/authorize?client_id=demo HTTP/1.1\r\n" + wireHost + "\r\n", want: 400},
	}
}

// wireAnswer is what came back on one connection.
type wireAnswer struct {
	statuses []int
	bodies   []string
	headers  []http.Header
	// closing: the response said Connection: close.
	closing []bool
	closed  bool // the server closed the connection
}

// sendRaw writes c on a fresh connection to addr and reads every response
// until the server closes it or 3 s pass.
func sendRaw(t *testing.T, addr string, c wireCase) wireAnswer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(3 * time.Second)
	conn.SetDeadline(deadline)
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		if _, err := io.WriteString(conn, c.raw); err != nil || c.stream == nil {
			return
		}
		_ = c.stream(conn)
	}()
	defer func() {
		conn.Close() // ends a streaming writer
		<-writeDone
	}()
	var a wireAnswer
	br := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			a.closed = !(errors.As(err, &ne) && ne.Timeout())
			return a
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		a.statuses = append(a.statuses, resp.StatusCode)
		a.bodies = append(a.bodies, string(body))
		a.headers = append(a.headers, resp.Header)
		a.closing = append(a.closing, resp.Close)
		if c.stream == nil && !strings.Contains(c.raw, "\r\n\r\n"+wireSmuggled) && !strings.HasSuffix(c.raw, wireSmuggled) {
			// Nothing else was sent: ask for the close (or the timeout) by
			// probing with a request of our own only when the case wants
			// to know whether the connection stays open.
			if !c.mustClose {
				return a
			}
		}
	}
}

// TestHostileRequestsOnTheWire sends each class of hostile request the probe
// of issue 13 used (huge headers, 10 MB and endless chunked bodies, NUL and
// invalid UTF-8, duplicated parameters and headers, smuggling, hostile
// redirect URIs) as raw bytes to a provider on 127.0.0.1: none may get a
// 5xx (but the 501 RFC 9112 6.1 asks for an unknown transfer coding) or a
// token, the framing attacks must end the connection, and a request hidden
// in a body must never be served.
func TestHostileRequestsOnTheWire(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addr().String()
	// byServer and byProvider count the responses net/http wrote itself
	// (text/plain, such as "400 Bad Request", always closing the
	// connection) and those the provider wrote.
	var byServer, byProvider int64
	for _, c := range wireCases() {
		t.Run(c.name, func(t *testing.T) {
			a := sendRaw(t, addr, c)
			for i, h := range a.headers {
				if strings.HasPrefix(h.Get("Content-Type"), "text/plain") && a.closing[i] {
					byServer++
				} else {
					byProvider++
				}
			}
			if len(a.statuses) == 0 {
				t.Fatalf("no response (closed %v)", a.closed)
			}
			first := a.statuses[0]
			switch {
			case c.want == 0 && (first < 400 || first > 499):
				t.Errorf("status %d, want a 4xx: %s", first, truncate(a.bodies[0], 200))
			case c.want != 0 && first != c.want:
				t.Errorf("status %d, want %d: %s", first, c.want, truncate(a.bodies[0], 200))
			}
			for i, st := range a.statuses {
				if st >= 500 && !(st == http.StatusNotImplemented && c.want == http.StatusNotImplemented) {
					t.Errorf("response %d: status %d", i, st)
				}
				if c.name != "control" && strings.Contains(a.bodies[i], "access_token") && st == 200 && c.want != 200 {
					t.Errorf("response %d: a token", i)
				}
				if a.headers[i].Get("Set-Cookie") == "x=1" {
					t.Errorf("response %d: header injected from the request", i)
				}
				if st >= 300 && st < 400 {
					t.Errorf("response %d: redirected to %s", i, a.headers[i].Get("Location"))
				}
			}
			if c.mustClose && (len(a.statuses) != 1 || !a.closed) {
				t.Errorf("got %d responses %v, closed %v: want one, then the connection closed", len(a.statuses), a.statuses, a.closed)
			}
		})
	}
	stats := srv.Provider().Stats()
	if n := stats["requests"]["discovery"]; n > 0 {
		t.Errorf("a smuggled request was served (%d discovery requests)", n)
	}
	// Every answer is counted: net/http's own under server.refused (which
	// also counts what it cut without an answer; no case here does), the
	// provider's by endpoint and status class.
	var counted int64
	for _, n := range stats["responses"] {
		counted += n
	}
	if stats["server"]["refused"] != byServer || counted != byProvider {
		t.Errorf("counters: server refused %d, provider responses %d; the client saw %d and %d",
			stats["server"]["refused"], counted, byServer, byProvider)
	}
}
