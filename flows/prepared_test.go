package flows

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// sentRequest is what a token endpoint saw of one request.
type sentRequest struct {
	Method, Path, ContentType, Authorization string
	Form                                     url.Values
}

// capturingEndpoint answers every request with one canned response and keeps
// what each request carried.
type capturingEndpoint struct {
	srv                      *httptest.Server
	mu                       sync.Mutex
	seen                     []sentRequest
	status                   int
	contentType, body, delay string
}

func newCapturingEndpoint(t *testing.T) *capturingEndpoint {
	c := &capturingEndpoint{status: 200, contentType: "application/json",
		body: `{"access_token":"at","token_type":"Bearer","expires_in":60,"scope":"api.read","refresh_token":"rt","id_token":"x.y.z"}`}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			writeJSON(w, 200, map[string]any{"issuer": c.srv.URL, "token_endpoint": c.srv.URL + "/token",
				"authorization_endpoint": c.srv.URL + "/authorize", "jwks_uri": c.srv.URL + "/jwks"})
			return
		}
		r.ParseForm()
		c.mu.Lock()
		c.seen = append(c.seen, sentRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.PostForm})
		status, ct, body, delay := c.status, c.contentType, c.body, c.delay
		c.mu.Unlock()
		if delay != "" {
			d, _ := time.ParseDuration(delay)
			time.Sleep(d)
		}
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capturingEndpoint) last(t *testing.T) sentRequest {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		t.Fatal("no request reached the endpoint")
	}
	return c.seen[len(c.seen)-1]
}

func (c *capturingEndpoint) respond(status int, contentType, body string) {
	c.mu.Lock()
	c.status, c.contentType, c.body = status, contentType, body
	c.mu.Unlock()
}

func (c *capturingEndpoint) target() *Target {
	return &Target{Issuer: c.srv.URL, Clients: Clients{
		// Characters that form-encoding changes, so the Basic encoding is tested.
		Confidential: &Client{ClientID: "app:1", ClientSecret: "s3 c/ret+", AuthMethod: AuthClientSecretBasic, Scopes: []string{"openid", "api.read", "api.write"}},
		Legacy:       &Client{ClientID: "old", ClientSecret: "pw&=", AuthMethod: AuthClientSecretPost, Scopes: []string{"openid"}},
		Public:       &Client{ClientID: "spa", AuthMethod: AuthNone, Scopes: []string{"api.read"}},
	}, User: User{Username: "alice", Password: "won der&land"}}
}

// TestPreparedSendsWhatOAuth2Sends holds the prepared request to the bytes the
// x/oauth2 path sends, for each client authentication method and grant.
func TestPreparedSendsWhatOAuth2Sends(t *testing.T) {
	ctx := context.Background()
	ep := newCapturingEndpoint(t)
	tg := ep.target()
	cases := []struct {
		name     string
		viaOAuth func() error
		prepare  func() (*PreparedTokenRequest, error)
	}{
		{"client_credentials, client_secret_basic", func() error {
			_, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{})
			return err
		}, func() (*PreparedTokenRequest, error) {
			return PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
		}},
		{"client_credentials with params, client_secret_post", func() error {
			_, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Role: RoleLegacy, Scopes: []string{"a", "b"}, Params: url.Values{"resource": {"https://api"}}})
			return err
		}, func() (*PreparedTokenRequest, error) {
			return PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{Role: RoleLegacy, Scopes: []string{"a", "b"}, Params: url.Values{"resource": {"https://api"}}})
		}},
		{"client_credentials, public client", func() error {
			_, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Role: RolePublic})
			return err
		}, func() (*PreparedTokenRequest, error) {
			return PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{Role: RolePublic})
		}},
		{"password, client_secret_post", func() error {
			_, err := Password(ctx, tg, PasswordOptions{})
			return err
		}, func() (*PreparedTokenRequest, error) { return PreparePassword(ctx, tg, PasswordOptions{}) }},
		{"password, client_secret_basic, no scopes", func() error {
			_, err := Password(ctx, tg, PasswordOptions{Role: RoleConfidential, Scopes: []string{}})
			return err
		}, func() (*PreparedTokenRequest, error) {
			return PreparePassword(ctx, tg, PasswordOptions{Role: RoleConfidential, Scopes: []string{}})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.viaOAuth(); err != nil {
				t.Fatal(err)
			}
			want := ep.last(t)
			p, err := c.prepare()
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.Send(ctx, nil); err != nil {
				t.Fatal(err)
			}
			got := ep.last(t)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("prepared request\n got %+v\nwant %+v (x/oauth2)", got, want)
			}
		})
	}
	t.Run("extra parameters", func(t *testing.T) {
		p, err := PrepareTokenRequest(ctx, tg, TokenRequestOptions{GrantType: "refresh_token", Step: "refresh"})
		if err != nil {
			t.Fatal(err)
		}
		if _, s, err := p.Send(ctx, url.Values{"refresh_token": {"r&t=1"}}); err != nil || s.Name != "refresh" {
			t.Fatalf("Send: step %+v, %v", s, err)
		}
		if f := ep.last(t).Form; f.Get("refresh_token") != "r&t=1" || f.Get("grant_type") != "refresh_token" {
			t.Errorf("form = %v", f)
		}
	})
}

// verdict is a comparable summary of a token request's outcome.
func verdict(err error) string {
	var oe *OAuthError
	var re *ResponseError
	var te *TransportError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &oe):
		return fmt.Sprintf("oauth %d %s %q %q", oe.Status, oe.Code, oe.Description, oe.URI)
	case errors.As(err, &re):
		// The x/oauth2 path cannot tell the status of an unusable success (its
		// parse errors carry no response), so only the error class is compared.
		if re.Status >= 400 {
			return "response error status"
		}
		return "response unusable"
	case errors.As(err, &te):
		return "transport"
	}
	return "untyped " + err.Error()
}

// TestPreparedJudgesAsOAuth2 feeds both paths the same responses, well-formed
// and broken, and wants the same verdict, except where the prepared request
// checks more than x/oauth2 (token_type, RFC 6749 5.1).
func TestPreparedJudgesAsOAuth2(t *testing.T) {
	ctx := context.Background()
	ep := newCapturingEndpoint(t)
	tg := ep.target()
	p, err := PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, contentType, body string
		status                  int
		want                    TokenResponse
		// stricter is the prepared verdict where x/oauth2 lets the response pass.
		stricter string
	}{
		{name: "JSON token", status: 200, contentType: "application/json; charset=utf-8",
			body: `{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"api.read","refresh_token":"rt","id_token":"h.p.s"}`,
			want: TokenResponse{AccessToken: "at", TokenType: "Bearer", ExpiresIn: 3600, Scope: "api.read", RefreshToken: "rt", IDToken: "h.p.s"}},
		{name: "expires_in as a string", status: 200, contentType: "application/json",
			body: `{"access_token":"at","token_type":"Bearer","expires_in":"60"}`, want: TokenResponse{AccessToken: "at", TokenType: "Bearer", ExpiresIn: 60}},
		{name: "no content type is JSON", status: 200, body: `{"access_token":"at","token_type":"bearer"}`, want: TokenResponse{AccessToken: "at", TokenType: "bearer"}},
		{name: "form-encoded token", status: 200, contentType: "application/x-www-form-urlencoded",
			body: "access_token=at&token_type=bearer&expires_in=30&scope=a+b", want: TokenResponse{AccessToken: "at", TokenType: "bearer", ExpiresIn: 30, Scope: "a b"}},
		{name: "OAuth error", status: 400, contentType: "application/json",
			body: `{"error":"invalid_client","error_description":"bad secret","error_uri":"https://e"}`},
		{name: "OAuth error with status 200", status: 200, contentType: "application/json", body: `{"error":"invalid_scope"}`},
		{name: "form-encoded error", status: 401, contentType: "text/plain", body: "error=invalid_client&error_description=no"},
		{name: "5xx HTML", status: 503, contentType: "text/html", body: "<h1>down</h1>"},
		{name: "error status with empty JSON", status: 500, contentType: "application/json", body: "{}"},
		{name: "malformed JSON", status: 200, contentType: "application/json", body: `{"access_token":`},
		{name: "JSON array", status: 200, contentType: "application/json", body: `[1,2]`},
		{name: "access_token not a string", status: 200, contentType: "application/json", body: `{"access_token":5,"token_type":"Bearer"}`},
		{name: "expires_in not a number", status: 200, contentType: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":"soon"}`},
		{name: "expires_in with a fraction", status: 200, contentType: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":3600.5}`},
		{name: "expires_in null", status: 200, contentType: "application/json", body: `{"access_token":"at","token_type":"Bearer","expires_in":null}`,
			want: TokenResponse{AccessToken: "at", TokenType: "Bearer"}},
		{name: "escaped strings", status: 200, contentType: "application/json", body: `{"access_token":"a\u0074\n","token_type":"B\""}`,
			want: TokenResponse{AccessToken: "at\n", TokenType: "B\""}},
		{name: "trailing garbage", status: 200, contentType: "application/json", body: `{"access_token":"at","token_type":"Bearer"}x`},
		{name: "no access_token", status: 200, contentType: "application/json", body: `{"token_type":"Bearer"}`},
		{name: "no token_type", status: 200, contentType: "application/json", body: `{"access_token":"at"}`, stricter: "response unusable"},
		{name: "empty body", status: 200, contentType: "application/json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep.respond(c.status, c.contentType, c.body)
			_, oauthErr := ClientCredentials(ctx, tg, ClientCredentialsOptions{})
			tok, step, err := p.Send(ctx, nil)
			want := verdict(oauthErr)
			if c.stricter != "" {
				if want != "ok" {
					t.Fatalf("x/oauth2 verdict %s, the case expects it to pass", want)
				}
				want = c.stricter
			}
			if got := verdict(err); got != want {
				t.Errorf("prepared verdict %s (%v), x/oauth2 path %s (%v)", got, err, want, oauthErr)
			}
			if err == nil && tok != c.want {
				t.Errorf("token = %+v, want %+v", tok, c.want)
			}
			if step.Name != "token" || step.Status != c.status || step.End.Before(step.Start) {
				t.Errorf("step = %+v", step)
			}
			if step.OAuthError != ErrorCode(err) {
				t.Errorf("step OAuthError %q, error code %q", step.OAuthError, ErrorCode(err))
			}
		})
	}
}

func TestPreparedTransportFailures(t *testing.T) {
	ctx := context.Background()
	ep := newCapturingEndpoint(t)
	tg := ep.target()
	tg.Timeouts.Request = 200 * time.Millisecond
	p, err := PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep.mu.Lock()
	ep.delay = "2s"
	ep.mu.Unlock()
	_, step, err := p.Send(ctx, nil)
	var te *TransportError
	var ne net.Error
	if !errors.As(err, &te) || !errors.As(err, &ne) || !ne.Timeout() || step.Status != 0 || step.Err == "" {
		t.Errorf("slow endpoint: step %+v, err %v; want a timeout TransportError", step, err)
	}
	if strings.Contains(step.Err, ep.srv.URL) {
		t.Errorf("step error %q carries the URL", step.Err)
	}

	// A closed port: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tg.Metadata = &Metadata{Issuer: closed, TokenEndpoint: closed + "/token"}
	tg.mdCache.Store(tg.Metadata)
	p, err = PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Send(ctx, nil); !errors.As(err, &te) {
		t.Errorf("refused: %v, want a TransportError", err)
	}
}

func TestPrepareNeedsClientAndEndpoint(t *testing.T) {
	ep := newCapturingEndpoint(t)
	tg := ep.target()
	tg.Clients.Device = nil
	var mce *MissingClientError
	if _, err := PrepareTokenRequest(context.Background(), tg, TokenRequestOptions{Role: RoleDevice, GrantType: "x"}); !errors.As(err, &mce) {
		t.Errorf("missing client: %v", err)
	}
}

// roundTripFunc is an in-memory transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzPreparedMatchesOAuth2 feeds the same response to the x/oauth2 path and to
// the prepared request, in memory, and wants the same verdict and the same
// token: the prepared request's faster JSON decoder must not change what
// passes. The one allowed difference is the token_type the prepared request
// also demands (token_type present, scope and id_token strings).
func FuzzPreparedMatchesOAuth2(f *testing.F) {
	f.Add(200, 0, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"a b"}`)
	f.Add(200, 0, `{"ACCESS_TOKEN":"at","Token_Type":"x","access_token":"b"}`)
	f.Add(200, 0, `{"access_token":"at","token_type":"Bearer","expires_in":"12"}`)
	f.Add(200, 0, `{"access_token":"\xff\u00e9","token_type":"Bearer","refresh_token":null}`)
	f.Add(400, 0, `{"error":"invalid_grant","error_description":"x"}`)
	f.Add(200, 1, `access_token=at&token_type=bearer&expires_in=9`)
	f.Add(500, 2, `<html>`)
	f.Add(200, 0, `{"access_token":"at","token_type":"Bearer","expires_in":1e3}`)
	contentTypes := []string{"application/json", "application/x-www-form-urlencoded", "text/html", "text/plain", ""}
	f.Fuzz(func(t *testing.T, status, ct int, body string) {
		if status < 100 || status > 599 {
			status = 200
		}
		contentType := contentTypes[uint(ct)%uint(len(contentTypes))]
		tg := &Target{Issuer: "http://op.test", Clients: Clients{Confidential: &Client{ClientID: "c", ClientSecret: "s"}},
			Metadata: &Metadata{Issuer: "http://op.test", TokenEndpoint: "http://op.test/token"}}
		tg.SetTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
			h := http.Header{}
			if contentType != "" {
				h.Set("Content-Type", contentType)
			}
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}, nil
		}))
		ctx := context.Background()
		res, oauthErr := ClientCredentials(ctx, tg, ClientCredentialsOptions{Scopes: []string{}})
		p, err := PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{Scopes: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := p.Send(ctx, nil)
		want, got := verdict(oauthErr), verdict(err)
		if want == "ok" && got == "response unusable" {
			// The prepared request's stricter checks: token_type present, and
			// scope and id_token strings (x/oauth2 does not decode those two).
			var typed struct {
				Scope   string `json:"scope"`
				IDToken string `json:"id_token"`
			}
			if tok.AccessToken != "" && tok.TokenType == "" || contentType != "application/x-www-form-urlencoded" && contentType != "text/plain" && stdjson.Unmarshal([]byte(body), &typed) != nil {
				return
			}
		}
		if got != want {
			t.Fatalf("prepared %s (%v), x/oauth2 %s (%v)", got, err, want, oauthErr)
		}
		if err == nil {
			w := res.Token
			if tok.AccessToken != w.AccessToken || tok.TokenType != w.TokenType || tok.RefreshToken != w.RefreshToken {
				t.Fatalf("prepared token %+v, x/oauth2 %+v", tok, w)
			}
			// Result.ExpiresIn reads x/oauth2's raw map, a float64 for JSON.
			if n, ok := res.ExpiresIn(); ok && n != tok.ExpiresIn && n < 1<<53 && n > -1<<53 {
				t.Fatalf("prepared expires_in %d, x/oauth2 %d", tok.ExpiresIn, n)
			}
		}
	})
}

// TestRequestTimeoutCoversHeadersAndBody holds the flows' own path (the
// recording transport, which carries the timeout instead of http.Client) to
// the profile's request timeout, whether the endpoint stalls before its
// headers or in the middle of its body.
func TestRequestTimeoutCoversHeadersAndBody(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			writeJSON(w, 200, map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token?" + r.URL.RawQuery,
				"authorization_endpoint": srv.URL + "/authorize", "jwks_uri": srv.URL + "/jwks"})
			return
		}
		if r.URL.Query().Get("stall") == "body" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"access_token":`)
			w.(http.Flusher).Flush()
		}
		select { // until the client gives up (or the test does)
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer srv.Close()
	for _, stall := range []string{"headers", "body"} {
		t.Run(stall, func(t *testing.T) {
			tg := &Target{Issuer: srv.URL, Clients: Clients{Confidential: &Client{ClientID: "c", ClientSecret: "s"}},
				Timeouts: Timeouts{Request: 150 * time.Millisecond}}
			md, err := tg.metadata(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			md.TokenEndpoint = srv.URL + "/token?stall=" + stall
			start := time.Now()
			_, err = ClientCredentials(context.Background(), tg, ClientCredentialsOptions{})
			var te *TransportError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want a timeout TransportError", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the request took %v despite a 150ms timeout", d)
			}
			tg.CloseIdleConnections()
		})
	}
}
