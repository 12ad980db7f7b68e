package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/encoding/json"
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/internal/h1client"
	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/trace"
)

// PreparedTokenRequest is one token request — grant, client, scopes and fixed
// parameters — built once and sent many times: the load runner's hot path.
//
// The flows send token requests through x/oauth2, which builds the request
// afresh on every call and decodes each response twice (once into its token
// struct, once into a map for Token.Extra); under load that was the largest
// cost grantbench added to net/http's own. A prepared request sends the same
// bytes x/oauth2 would (form body, HTTP Basic with both parts form-encoded or
// the credentials in the body, RFC 6749 2.3.1), decodes the response once, and
// judges it as x/oauth2 does plus RFC 6749 5.1's token_type; a test holds the
// two paths to the same requests and the same verdicts.
type PreparedTokenRequest struct {
	step     string
	tokenURL *url.URL
	// transport is the target's pool under its recording layer: Send records
	// its own step, and calling the transport itself skips what http.Client
	// adds per request for redirects, which the flows never follow.
	transport http.RoundTripper
	timeout   time.Duration
	// wire and wireRequest send the request without net/http when the token
	// endpoint is plain HTTP on the target's own pool: net/http's per-request
	// goroutine hand-offs were most of grantbench's CPU per request against a
	// fast server (internal/h1client). nil: net/http (HTTPS, a custom
	// transport).
	wire        *h1client.Transport
	wireRequest *h1client.Request
	// authorization is the Authorization header value, "" when the client
	// authenticates in the body or not at all.
	authorization string
	// body is the form-encoded fixed parameters, client credentials included
	// when they go in the body.
	body string
}

// TokenResponse is the RFC 6749 5.1 members of a successful token response.
type TokenResponse struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	// ExpiresIn is expires_in in seconds, 0 when absent.
	ExpiresIn int64
	Scope     string
	IDToken   string
}

// PrepareTokenRequest builds the token request opts describes (Role, GrantType,
// Scopes, Params and Step as for [TokenRequest]; Record is ignored: Send returns
// its one step). It resolves the client and the token endpoint now, so a
// missing client or metadata fails here rather than on every send.
func PrepareTokenRequest(ctx context.Context, t *Target, opts TokenRequestOptions) (*PreparedTokenRequest, error) {
	role, step, params := opts.resolve()
	c, err := t.Client(role)
	if err != nil {
		return nil, err
	}
	md, err := t.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if md.TokenEndpoint == "" {
		return nil, &UnsupportedError{What: "a token endpoint (no token_endpoint in its metadata)"}
	}
	if len(opts.Scopes) > 0 {
		params.Set("scope", strings.Join(opts.Scopes, " "))
	}
	tokenURL, err := url.Parse(md.TokenEndpoint)
	if err != nil || (tokenURL.Scheme != "http" && tokenURL.Scheme != "https") || tokenURL.Host == "" {
		return nil, &ResponseError{Step: "discovery", Reason: fmt.Sprintf("token_endpoint %q is not an http(s) URL", md.TokenEndpoint), Err: err}
	}
	if c.method() == AuthPrivateKeyJWT {
		return nil, &UnsupportedError{What: "a prepared token request as a private_key_jwt client (every request needs a fresh client assertion; use TokenRequest)"}
	}
	p := &PreparedTokenRequest{step: step, tokenURL: tokenURL}
	// As x/oauth2's newTokenRequest: Basic with both parts form-encoded, or
	// client_id (and the secret, if any) in the body.
	if authStyle(c.method()) == oauth2.AuthStyleInHeader {
		creds := url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)
		p.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(creds))
	} else {
		params.Set("client_id", c.ClientID)
		if c.ClientSecret != "" {
			params.Set("client_secret", c.ClientSecret)
		}
	}
	p.body = params.Encode()
	st := t.http()
	p.transport, p.timeout = st.base, t.requestTimeout()
	if st.wire != nil && tokenURL.Scheme == "http" {
		addr := tokenURL.Host
		if tokenURL.Port() == "" {
			addr = net.JoinHostPort(tokenURL.Hostname(), "80")
		}
		// The headers net/http sends for this request, but Accept-Encoding:
		// a response is read as it comes, never decompressed.
		headers := [][2]string{{"User-Agent", "Go-http-client/1.1"}, {"Content-Type", formContentType[0]}}
		if p.authorization != "" {
			headers = append(headers, [2]string{"Authorization", p.authorization})
		}
		if p.wireRequest, err = h1client.NewRequest(http.MethodPost, addr, tokenURL.Host, tokenURL.RequestURI(), headers); err == nil {
			p.wire = st.wire
		}
	}
	return p, nil
}

// sendWire is Send over internal/h1client: the same request bytes, the same
// verdicts, the same typed errors.
func (p *PreparedTokenRequest) sendWire(ctx context.Context, body string, step trace.Step, keep bool) (TokenResponse, trace.Step, error) {
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	resp, err := p.wire.Do(ctx, p.wireRequest, body, step.Start.Add(p.timeout), buf, maxTokenResponse)
	step.End, step.Status = time.Now(), resp.Status
	switch {
	case errors.Is(err, h1client.ErrBodyTooLarge):
		step.Err = "token response larger than 1 MB"
		return TokenResponse{}, step, &ResponseError{Step: p.step, Status: resp.Status, Reason: "unusable token response (larger than 1 MB)", Err: err}
	case err != nil && resp.Status != 0:
		step.Err = "reading body: " + err.Error()
		return TokenResponse{}, step, &TransportError{Step: p.step, Err: err}
	case err != nil:
		step.Err = err.Error()
		return TokenResponse{}, step, &TransportError{Step: p.step, Err: err}
	}
	tok, err := p.judgeParts(resp.Status, resp.ContentType, buf.Bytes(), keep)
	if oe, ok := err.(*OAuthError); ok {
		step.OAuthError = oe.Code
	}
	return tok, step, err
}

// maxTokenResponse bounds a token response body.
const maxTokenResponse = 1 << 20

// Send sends the request with extra parameters appended to the fixed ones (nil
// for none; a refresh token, say) and returns the response, the timed step
// (from before the request to the end of the body) and the error, typed as the
// flows' errors are: [*OAuthError], [*ResponseError] or [*TransportError].
func (p *PreparedTokenRequest) Send(ctx context.Context, extra url.Values) (TokenResponse, trace.Step, error) {
	return p.send(ctx, extra, true)
}

// Check is Send for a caller that needs only the verdict: the response is
// judged the same way, but its token strings are never copied out of the read
// buffer (a client credentials replay throws the token away; copying a
// kilobyte-long JWT was a tenth of the client's CPU per request).
func (p *PreparedTokenRequest) Check(ctx context.Context, extra url.Values) (trace.Step, error) {
	_, step, err := p.send(ctx, extra, false)
	return step, err
}

func (p *PreparedTokenRequest) send(ctx context.Context, extra url.Values, keep bool) (TokenResponse, trace.Step, error) {
	body := p.body
	if len(extra) > 0 {
		body += "&" + extra.Encode()
	}
	step := trace.Step{Name: p.step, Start: time.Now()}
	if p.wire != nil {
		return p.sendWire(ctx, body, step, keep)
	}
	// The timeout covers the body too: cancel runs once it has been read.
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// What http.NewRequest builds, without parsing the URL again each time.
	u := *p.tokenURL
	req := (&http.Request{
		Method: http.MethodPost, URL: &u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": formContentType},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}).WithContext(ctx)
	if p.authorization != "" {
		req.Header["Authorization"] = []string{p.authorization}
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		step.End, step.Err = time.Now(), err.Error()
		return TokenResponse{}, step, &TransportError{Step: p.step, Err: err}
	}
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	_, readErr := buf.ReadFrom(io.LimitReader(resp.Body, maxTokenResponse))
	resp.Body.Close()
	step.End, step.Status = time.Now(), resp.StatusCode
	if readErr != nil {
		step.Err = "reading body: " + readErr.Error()
		return TokenResponse{}, step, &TransportError{Step: p.step, Err: readErr}
	}
	tok, err := p.judgeParts(resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes(), keep)
	if oe, ok := err.(*OAuthError); ok {
		step.OAuthError = oe.Code
	}
	return tok, step, err
}

var formContentType = []string{"application/x-www-form-urlencoded"}

// tokenResponseJSON is a token response or an error response, RFC 6749 5.1 and
// 5.2. It is decoded with segmentio/encoding's json, a drop-in for the standard
// library's that decodes a token response about five times faster (0.56 against
// 2.9 us for the mock's ES256 response): under load the standard decoder was 9%
// of the client's CPU.
type tokenResponseJSON struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	RefreshToken     string    `json:"refresh_token"`
	ExpiresIn        expiresIn `json:"expires_in"`
	Scope            string    `json:"scope"`
	IDToken          string    `json:"id_token"`
	Error            string    `json:"error"`
	ErrorDescription string    `json:"error_description"`
	ErrorURI         string    `json:"error_uri"`
}

// expiresIn is expires_in: a whole number of seconds, which some providers send
// as a string. x/oauth2 accepts both (through json.Number, which the decoder
// used here does not fill from a string), so this does too.
type expiresIn struct{ seconds int64 }

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		// As json.Number: the string must hold a JSON number literal ("060" does not).
		if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') || !json.Valid([]byte(s)) {
			return fmt.Errorf("expires_in %q is not a number", s)
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("expires_in %s is not a whole number of seconds", b)
	}
	*e = expiresIn{seconds: n}
	return nil
}

// judge parses a token endpoint response and decides it, with x/oauth2's rules
// (doTokenRoundTrip): form-encoded or text/plain bodies are parsed as a query,
// anything else as JSON; an error status or an error member is an error; a
// success needs access_token. It adds RFC 6749 5.1's token_type, which x/oauth2
// lets pass.
//
// The JSON is parsed without copying strings out of body; what outlives the
// call is copied: the error fields always, the token fields when keep is set
// (without it, the returned TokenResponse is valid only until body is reused).
func (p *PreparedTokenRequest) judgeParts(status int, contentType string, body []byte, keep bool) (TokenResponse, error) {
	failed := status < 200 || status > 299
	var tj tokenResponseJSON
	mt := "application/json" // the common case, without mime's allocations
	if contentType != mt {
		mt, _, _ = mime.ParseMediaType(contentType)
	}
	switch mt {
	case "application/x-www-form-urlencoded", "text/plain":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			if failed {
				return TokenResponse{}, p.errorStatus(status, nil)
			}
			return TokenResponse{}, &ResponseError{Step: p.step, Status: status, Reason: "unusable token response", Err: err}
		}
		tj = tokenResponseJSON{AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), RefreshToken: v.Get("refresh_token"),
			Scope: v.Get("scope"), IDToken: v.Get("id_token"), Error: v.Get("error"), ErrorDescription: v.Get("error_description"), ErrorURI: v.Get("error_uri")}
		if n, err := strconv.Atoi(v.Get("expires_in")); err == nil {
			tj.ExpiresIn = expiresIn{seconds: int64(n)}
		}
	default:
		if err := parseNoCopy(body, &tj); err != nil {
			if failed {
				return TokenResponse{}, p.errorStatus(status, nil)
			}
			return TokenResponse{}, &ResponseError{Step: p.step, Status: status, Reason: "unusable token response", Err: err}
		}
	}
	if failed || tj.Error != "" {
		tj.Error, tj.ErrorDescription, tj.ErrorURI = strings.Clone(tj.Error), strings.Clone(tj.ErrorDescription), strings.Clone(tj.ErrorURI)
		return TokenResponse{}, p.errorStatus(status, &tj)
	}
	tok := TokenResponse{AccessToken: tj.AccessToken, TokenType: tj.TokenType, RefreshToken: tj.RefreshToken, Scope: tj.Scope, IDToken: tj.IDToken}
	if keep {
		tok = TokenResponse{AccessToken: strings.Clone(tok.AccessToken), TokenType: strings.Clone(tok.TokenType),
			RefreshToken: strings.Clone(tok.RefreshToken), Scope: strings.Clone(tok.Scope), IDToken: strings.Clone(tok.IDToken)}
	}
	tok.ExpiresIn = tj.ExpiresIn.seconds
	switch {
	case tok.AccessToken == "":
		return tok, &ResponseError{Step: p.step, Status: status, Reason: "token response without access_token"}
	case tok.TokenType == "":
		return tok, &ResponseError{Step: p.step, Status: status, Reason: "token response without token_type (RFC 6749 5.1)"}
	}
	return tok, nil
}

// parseNoCopy is json.Unmarshal with strings pointing into b (ZeroCopy),
// trailing bytes after the value refused as Unmarshal refuses them.
func parseNoCopy(b []byte, v any) error {
	rest, err := json.Parse(b, v, json.ZeroCopy)
	if err == nil && len(bytes.TrimSpace(rest)) > 0 {
		return fmt.Errorf("invalid character %q after top-level value", rest[0])
	}
	return err
}

// errorStatus is the error of a failed response: an OAuth error when it named a
// code, else a response error.
func (p *PreparedTokenRequest) errorStatus(status int, tj *tokenResponseJSON) error {
	if tj != nil && tj.Error != "" {
		return &OAuthError{Step: p.step, Status: status, Code: tj.Error, Description: tj.ErrorDescription, URI: tj.ErrorURI}
	}
	return &ResponseError{Step: p.step, Status: status, Reason: "error status without an OAuth error code"}
}

// responseBuffers recycles the buffers token responses are read into: the
// parsed strings are copies, so a buffer is free again once Send returns.
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putResponseBuffer(b *bytes.Buffer) {
	if b.Cap() > 64<<10 { // a rare huge response should not pin its buffer
		return
	}
	b.Reset()
	responseBuffers.Put(b)
}

// PrepareClientCredentials prepares the request [ClientCredentials] sends, with
// the same defaults (the service client, the scopes that need no user).
func PrepareClientCredentials(ctx context.Context, t *Target, opts ClientCredentialsOptions) (*PreparedTokenRequest, error) {
	role := opts.Role
	if role == "" {
		role = t.ServiceRole()
	}
	scopes := opts.Scopes
	if scopes == nil {
		c, err := t.Client(role)
		if err != nil {
			return nil, err
		}
		scopes = nonUserScopes(c.Scopes)
	}
	return PrepareTokenRequest(ctx, t, TokenRequestOptions{Role: role, GrantType: string(oauth.GrantClientCredentials), Scopes: scopes, Params: opts.Params})
}

// PreparePassword prepares the request [Password] sends, with the same defaults
// (the legacy client and its scopes, the profile's user).
func PreparePassword(ctx context.Context, t *Target, opts PasswordOptions) (*PreparedTokenRequest, error) {
	role := opts.Role
	if role == "" {
		role = RoleLegacy
	}
	scopes := opts.Scopes
	if scopes == nil {
		c, err := t.Client(role)
		if err != nil {
			return nil, err
		}
		scopes = c.Scopes
	}
	user, pass := opts.Username, opts.Password
	if user == "" {
		user = t.User.Username
	}
	if pass == "" {
		pass = t.User.Password
	}
	return PrepareTokenRequest(ctx, t, TokenRequestOptions{Role: role, GrantType: string(oauth.GrantPassword), Scopes: scopes,
		Params: url.Values{"username": {user}, "password": {pass}}})
}
