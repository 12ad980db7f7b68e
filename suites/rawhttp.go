package suites

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/gomega" //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/redact"
)

// Raw requests: the negative checks send what x/oauth2 rightly refuses to send
// (bad secrets, GET on the token endpoint, duplicated or malformed parameters),
// and look at the first response without following redirects.

// maxResponseBody bounds what a check reads of any response.
const maxResponseBody = 1 << 20

// response is one raw HTTP response, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// Location is the parsed Location header of a redirect, nil if none.
	Location *url.URL
	// URL is the URL the request went to.
	URL *url.URL
}

// isJSON reports whether the response says it is JSON.
func (r *response) isJSON() bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// decodeJSON decodes the body into v.
func (r *response) decodeJSON(v any) error {
	return json.Unmarshal(r.Body, v)
}

// object decodes the body as a JSON object, nil when it is not one.
func (r *response) object() map[string]any {
	var obj map[string]any
	if json.Unmarshal(r.Body, &obj) != nil {
		return nil
	}
	return obj
}

// hasMember reports whether a JSON body has the member. Assertions use it
// rather than matching the body, which they would print (tokens and all) when
// they fail.
func hasMember(r *response, name string) bool {
	_, ok := r.object()[name]
	return ok
}

// str returns a string member of a JSON body, "" when absent.
func (r *response) str(name string) string {
	s, _ := r.object()[name].(string)
	return s
}

// describe summarises the response for failure messages without printing
// secrets: status, content type, and the error members of a JSON body.
func (r *response) describe() string {
	desc := fmt.Sprintf("HTTP %d (%s)", r.Status, r.Header.Get("Content-Type"))
	if obj := r.object(); obj != nil {
		if code, ok := obj["error"]; ok {
			desc += fmt.Sprintf(" error=%v", code)
		}
		if d, ok := obj["error_description"]; ok {
			desc += fmt.Sprintf(" error_description=%q", d)
		}
		var names []string
		for k := range obj {
			names = append(names, k)
		}
		slices.Sort(names)
		desc += fmt.Sprintf(" members=%v", names)
	}
	if r.Location != nil {
		desc += " Location=" + redact.URL(r.Location.String())
	}
	return desc
}

// send makes one request with the raw client, recorded under step. A transport
// failure fails the spec: no response is no verdict.
func (e *env) send(ctx context.Context, step string, req *http.Request) *response {
	r, err := e.trySend(ctx, step, req)
	Expect(err).NotTo(HaveOccurred(), "%s %s: no response", req.Method, step)
	return r
}

// trySend is send returning the transport error instead of failing on it.
func (e *env) trySend(ctx context.Context, step string, req *http.Request) (*response, error) {
	return e.trySendWith(ctx, e.raw, step, req)
}

// trySendWith is trySend with another client (the spec's page client).
func (e *env) trySendWith(ctx context.Context, client *http.Client, step string, req *http.Request) (*response, error) {
	req = req.WithContext(flows.WithStep(e.spec(ctx), step))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, err
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := req.URL.Parse(loc); err == nil {
			r.Location = u
		}
	}
	return r, nil
}

// get sends a GET with optional extra headers.
func (e *env) get(ctx context.Context, step, target string, header http.Header) *response {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	Expect(err).NotTo(HaveOccurred())
	for k, v := range header {
		req.Header[k] = v
	}
	return e.send(ctx, step, req)
}

// clientAuth says how a raw request authenticates its client.
type clientAuth int

const (
	// authProfile authenticates as the profile says (client_secret_basic,
	// client_secret_post, or client_id alone for public clients).
	authProfile clientAuth = iota
	// authNone sends no client authentication at all, not even client_id.
	authNone
	// authClientID sends only client_id in the body.
	authClientID
)

// post sends a form POST to endpoint as client c (nil: no client), with the
// client authenticated per auth.
func (e *env) post(ctx context.Context, step, endpoint string, c *flows.Client, auth clientAuth, form url.Values) *response {
	form = cloneValues(form)
	header := http.Header{}
	if c != nil {
		switch auth {
		case authProfile:
			switch c.AuthMethod {
			case flows.AuthClientSecretBasic:
				header.Set("Authorization", basicAuth(c.ClientID, c.ClientSecret))
			case flows.AuthClientSecretPost:
				form.Set("client_id", c.ClientID)
				form.Set("client_secret", c.ClientSecret)
			default:
				form.Set("client_id", c.ClientID)
			}
		case authClientID:
			form.Set("client_id", c.ClientID)
		}
	}
	return e.postRaw(ctx, step, endpoint, header, form.Encode())
}

// postRaw POSTs body as application/x-www-form-urlencoded with extra headers.
func (e *env) postRaw(ctx context.Context, step, endpoint string, header http.Header, body string) *response {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.send(ctx, step, req)
}

// token posts a token request as c, authenticated as the profile says.
func (e *env) token(ctx context.Context, c *flows.Client, form url.Values) *response {
	return e.post(ctx, "token", e.metadata().TokenEndpoint, c, authProfile, form)
}

// basicAuth builds client_secret_basic credentials: RFC 6749 2.3.1 form-encodes
// the id and secret before base64.
func basicAuth(id, secret string) string {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get("Authorization")
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// rfc6749TokenErrors are oauth.TokenErrorCodes as the strings a response
// carries: RFC 6749 5.2's, with RFC 8628 3.5's and RFC 8707's invalid_target.
var rfc6749TokenErrors = wireCodes(oauth.TokenErrorCodes)

// wireCodes are codes as the strings a response carries: gomega compares a
// decoded "error" member with these, and a typed oauth.ErrorCode would never
// equal a string there.
func wireCodes(codes []oauth.ErrorCode) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = string(c)
	}
	return out
}

// expectTokenError asserts an RFC 6749 5.2 error response whose error is one of
// codes: 400 (401 for invalid_client), JSON, a code from the RFC list. Each
// property is its own assertion so the failure names it.
func expectTokenError(r *response, codes ...oauth.ErrorCode) {
	Expect(r.Status).To(BeNumerically(">=", 400), "want an error status; got %s", r.describe())
	Expect(r.Status).To(BeNumerically("<", 500), "an error must be a 4xx, never a 5xx; got %s", r.describe())
	Expect(r.isJSON()).To(BeTrue(), "error response Content-Type must be application/json; got %s", r.describe())
	Expect(r.str("error")).To(BeElementOf(wireCodes(codes)), "error code; got %s", r.describe())
	if !slices.Contains(codes, oauth.InvalidClient) {
		Expect(r.Status).To(Equal(http.StatusBadRequest), "RFC 6749 5.2 errors other than invalid_client answer 400; got %s", r.describe())
	}
}

// expectNoStore asserts Cache-Control: no-store (RFC 6749 5.1, 5.2).
func expectNoStore(r *response) {
	Expect(cacheDirectives(r.Header)).To(ContainElement("no-store"), "Cache-Control must include no-store; got %q", r.Header.Values("Cache-Control"))
}

// cacheDirectives lists the Cache-Control directives, lowercased.
func cacheDirectives(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

// authorizeURL builds an authorization request URL.
func (e *env) authorizeURL(params url.Values) string {
	endpoint := e.endpoint("authorization_endpoint", e.metadata().AuthorizationEndpoint)
	u, err := url.Parse(endpoint)
	Expect(err).NotTo(HaveOccurred(), "authorization_endpoint is a URL")
	q := u.Query()
	for k, v := range e.target.AuthorizeParams {
		q.Set(k, v)
	}
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// authorize sends an authorization request without a browser and follows the
// provider's own redirects (to its login page, say) up to a bound, never a
// redirect that leaves the provider's host. It returns the last response. The
// requests share the spec's cookie jar, as a browser's would.
func (e *env) authorize(ctx context.Context, params url.Values) *response {
	issuer, err := url.Parse(e.target.Issuer)
	Expect(err).NotTo(HaveOccurred())
	return e.followPages(ctx, e.authorizeURL(params), func(u *url.URL) bool { return u.Host == issuer.Host })
}

// maxPageRedirects bounds the redirects a check follows from one request.
const maxPageRedirects = 8

// followPages GETs target with the spec's page client (a cookie jar of its
// own) and follows redirects while follow allows them, up to a bound; it
// returns the last response.
func (e *env) followPages(ctx context.Context, target string, follow func(*url.URL) bool) *response {
	var r *response
	for range maxPageRedirects {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Accept", "text/html")
		r, err = e.trySendWith(ctx, e.pages, "authorize", req)
		Expect(err).NotTo(HaveOccurred(), "GET %s: no response", redact.URL(target))
		if r.Location == nil || r.Status < 300 || r.Status > 399 || !follow(r.Location) {
			return r
		}
		if r.Location.Scheme != "http" && r.Location.Scheme != "https" {
			return r
		}
		target = r.Location.String()
	}
	return r
}

// redirectParams returns the parameters of an authorization response that the
// provider sent to redirectURI (query, or fragment when that has them), and
// whether the response was such a redirect.
func redirectParams(r *response, redirectURI string) (url.Values, bool) {
	if r.Location == nil || r.Status < 300 || r.Status > 399 {
		return nil, false
	}
	if !sameEndpoint(r.Location, redirectURI) {
		return nil, false
	}
	params := r.Location.Query()
	if len(params) == 0 && r.Location.Fragment != "" {
		if frag, err := url.ParseQuery(r.Location.Fragment); err == nil {
			params = frag
		}
	}
	return params, true
}

// sameEndpoint reports whether u is redirectURI (ignoring the query and, for a
// port-less loopback URI, the port: RFC 8252 7.3).
func sameEndpoint(u *url.URL, redirectURI string) bool {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return false
	}
	if u.Scheme != want.Scheme || u.Path != want.Path || u.Hostname() != want.Hostname() {
		return false
	}
	return want.Port() == "" || u.Port() == want.Port()
}

// redirectsTo reports whether the response sends the user agent to a URL that
// starts with prefix: the dangerous outcome of the redirect checks.
func redirectsTo(r *response, prefix string) bool {
	if r.Location == nil || r.Status < 300 || r.Status > 399 {
		return false
	}
	return strings.HasPrefix(r.Location.String(), prefix)
}

// bodyContains is a small helper for page checks.
func bodyContains(r *response, s string) bool { return bytes.Contains(r.Body, []byte(s)) }
