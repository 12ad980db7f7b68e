package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// CallbackResponse is an authorization response caught at the redirect URI.
type CallbackResponse struct {
	Params url.Values
	// Fragment says the parameters came in the URL fragment (implicit grant).
	Fragment bool
}

// CallbackListener is a loopback HTTP server at a redirect URI that catches one
// authorization response, in the query or in the fragment. A fragment never
// reaches a server, so for a request without a query it serves a tiny page whose
// script posts location.hash back.
type CallbackListener struct {
	redirectURI string
	path        string
	srv         *http.Server
	ln          net.Listener
	// done is closed when the first response arrived; resp holds it.
	done chan struct{}
	mu   sync.Mutex
	resp *CallbackResponse
	// noPage answers a response in the query with 204 instead of a page.
	noPage bool
}

// isLoopbackHost reports whether host names the local machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenCallback starts a listener for redirectURI, which must be an http URI on
// 127.0.0.1 or localhost. Without a port in the URI it takes an ephemeral one
// (RFC 8252 7.3); [CallbackListener.RedirectURI] is then the URI to send. It
// always binds 127.0.0.1.
func ListenCallback(redirectURI string) (*CallbackListener, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return nil, fmt.Errorf("flows: callback listener: %w", err)
	}
	host := u.Hostname()
	if u.Scheme != "http" || (host != "127.0.0.1" && host != "localhost") {
		return nil, &UnsupportedError{What: fmt.Sprintf("catching redirects at %q: the redirect URI must be http://127.0.0.1[:port]/... or http://localhost[:port]/...", redirectURI)}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", u.Port()))
	if err != nil {
		return nil, fmt.Errorf("flows: callback listener: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	u.Host = net.JoinHostPort(host, fmt.Sprint(port))
	path := u.Path
	if path == "" {
		path = "/"
	}
	l := &CallbackListener{redirectURI: u.String(), path: path, ln: ln, done: make(chan struct{})}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 10 * time.Second}
	go l.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Close
	return l, nil
}

// AnswerWithoutPage makes the listener answer an authorization response in
// the query with 204 No Content rather than a page: the browser then stays on
// the provider's last page and loads no document, which for a browser flow
// that waits on the listener (not on the page) saves a third of the CPU the
// flow costs Chromium. A response in the fragment still gets the page that
// posts it back. Call it before the redirect can arrive.
func (l *CallbackListener) AnswerWithoutPage() { l.noPage = true }

// RedirectURI is the redirect URI to send, with the listener's port.
func (l *CallbackListener) RedirectURI() string { return l.redirectURI }

// Wait returns the first authorization response, or the context's error.
func (l *CallbackListener) Wait(ctx context.Context) (*CallbackResponse, error) {
	select {
	case <-l.done:
		return l.response(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Received returns the response if one has arrived, without waiting.
func (l *CallbackListener) Received() (*CallbackResponse, bool) {
	select {
	case <-l.done:
		return l.response(), true
	default:
		return nil, false
	}
}

// Done is closed once a response has arrived.
func (l *CallbackListener) Done() <-chan struct{} { return l.done }

func (l *CallbackListener) response() *CallbackResponse {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := *l.resp
	return &r
}

// Close stops the listener.
func (l *CallbackListener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return l.srv.Close()
	}
	return err
}

// deliver keeps the first response; later ones (a reload, a second tab) are
// ignored.
func (l *CallbackListener) deliver(r CallbackResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.resp == nil {
		l.resp = &r
		close(l.done)
	}
}

// callbackDoneID is the id of the element the callback pages show once the
// response has been received; the browser waits for it.
const callbackDoneID = "grantbench-callback-done"

const callbackDonePage = `<!doctype html><html><head><meta charset="utf-8"><title>grantbench</title></head>` +
	`<body><p id="` + callbackDoneID + `">grantbench received the authorization response.</p></body></html>`

// fragmentPage posts the fragment back to the listener. It shows the done
// element only after the post was accepted, so a browser waiting for it knows
// the listener has the response.
const fragmentPage = `<!doctype html><html><head><meta charset="utf-8"><title>grantbench</title></head><body>
<script>
fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
  body: location.hash.replace(/^#/, "")}).then(function () {
  var p = document.createElement("p"); p.id = "` + callbackDoneID + `";
  p.textContent = "grantbench received the authorization response."; document.body.appendChild(p);
});
</script></body></html>`

func (l *CallbackListener) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != l.path {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.Method {
	case http.MethodGet:
		if r.URL.RawQuery != "" {
			l.deliver(CallbackResponse{Params: r.URL.Query()})
			if l.noPage {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			io.WriteString(w, callbackDonePage)
			return
		}
		io.WriteString(w, fragmentPage)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		params, err := url.ParseQuery(strings.TrimSpace(string(body)))
		if err != nil {
			http.Error(w, "bad fragment", http.StatusBadRequest)
			return
		}
		l.deliver(CallbackResponse{Params: params, Fragment: true})
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// matchesRedirect reports whether loc is at the redirect URI sent: same scheme,
// host, port (any port when the registered URI had none and is loopback) and path.
func matchesRedirect(loc, sent *url.URL) bool {
	if loc.Scheme != sent.Scheme || loc.Hostname() != sent.Hostname() || loc.Path != sent.Path {
		return false
	}
	if sent.Port() == "" && isLoopbackHost(sent.Hostname()) {
		return true
	}
	return loc.Port() == sent.Port()
}

// responseFromLocation reads an authorization response from a redirect target:
// the query, else the fragment.
func responseFromLocation(loc *url.URL) CallbackResponse {
	if loc.RawQuery != "" {
		return CallbackResponse{Params: loc.Query()}
	}
	frag, _ := url.ParseQuery(loc.Fragment)
	return CallbackResponse{Params: frag, Fragment: loc.Fragment != ""}
}
