package suites

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// unknownScope is a scope no provider registers for the test clients.
const unknownScope = "grantbench.unregistered.scope"

// machineScopes are the client's scopes a client credentials grant may ask for.
func machineScopes(c *flows.Client) []string {
	var out []string
	for _, s := range c.Scopes {
		if !oauth.IsUserScope(s) { // those need a user
			out = append(out, s)
		}
	}
	return out
}

// clientCredentialsForm is a valid client credentials request body.
func clientCredentialsForm(c *flows.Client) url.Values {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scopes := machineScopes(c); len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	return form
}

// postMalformed POSTs a malformed token request body and returns the
// response, failing the check when none came: a server that crashes on bad
// input drops the connection, which is as much a failure as a 5xx.
func (e *env) postMalformed(ctx context.Context, endpoint string, auth http.Header, body, what string) *response {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header = auth.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	r, err := e.trySend(ctx, "token", req)
	Expect(err).NotTo(HaveOccurred(), "%s: the connection ended without a response (a crashed handler, a reset); a malformed body must get an error response", what)
	return r
}

// postOnOwnConnection POSTs body over a connection of its own, reading the
// response while the body is still being written. A server may refuse a large
// body before reading all of it and close the connection (RFC 9112 9.6);
// net/http's Transport then reports its failed write instead of the response,
// and a correct refusal would look like a crash. Here a response counts
// whenever it arrived; the error says the connection ended without one.
func (e *env) postOnOwnConnection(ctx context.Context, endpoint string, header http.Header, body string) (*response, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, e.raw.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if u.Scheme == "https" {
		cfg := e.target.TLSConfig()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg.ServerName = u.Hostname()
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn = tc
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Close = true
	written := make(chan error, 1)
	go func() { written <- req.Write(conn) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading the response: %w (writing the request: %v)", err, <-written)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	conn.Close() // the rest of the upload, if any, is not wanted
	<-written
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: respBody}, nil
}

// The C checks run as the profile's client credentials client
// (Target.ServiceRole): its service client when it has one, else its
// confidential client.
func (e *env) declareClient() {
	Describe("client credentials and token endpoint errors", Label("client"), func() {
		It("C1: a client credentials request gets a Bearer token with expires_in and no refresh token", check("C1", "rfc6749"), func(ctx SpecContext) {
			role := e.target.ServiceRole()
			e.confidential(role)
			res, err := flows.ClientCredentials(e.spec(ctx), e.target, flows.ClientCredentialsOptions{Role: role})
			e.keep(res)
			Expect(err).NotTo(HaveOccurred(), "client credentials grant")
			Expect(res.Token.AccessToken).NotTo(BeEmpty(), "access_token")
			Expect(strings.ToLower(res.Token.TokenType)).To(Equal("bearer"), "token_type")
			expiresIn, ok := res.ExpiresIn()
			Expect(ok).To(BeTrue(), "expires_in is present (RFC 6749 5.1 RECOMMENDED; CHECKS C1 requires it)")
			Expect(expiresIn).To(BeNumerically(">", 0), "expires_in")
			Expect(res.RefreshTokenIssued()).To(BeFalse(), "a refresh token SHOULD NOT be included (RFC 6749 4.4.3)")
		})

		It("C2: a bad secret in HTTP Basic gets 401 with WWW-Authenticate and invalid_client", check("C2", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			header := http.Header{"Authorization": {basicAuth(c.ClientID, c.ClientSecret+"-wrong")}}
			r := e.postRaw(ctx, "token", e.metadata().TokenEndpoint, header, clientCredentialsForm(c).Encode())
			expectTokenError(r, oauth.InvalidClient)
			Expect(r.Status).To(Equal(http.StatusUnauthorized), "status; got %s", r.describe())
			Expect(r.Header.Get("WWW-Authenticate")).NotTo(BeEmpty(), "WWW-Authenticate header on 401 (RFC 6749 5.2)")
		})

		It("C3: a bad secret in the body, or an unknown client, gets invalid_client", check("C3", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			form := clientCredentialsForm(c)
			form.Set("client_id", c.ClientID)
			form.Set("client_secret", c.ClientSecret+"-wrong")
			r := e.post(ctx, "token", e.metadata().TokenEndpoint, nil, authNone, form)
			expectTokenError(r, oauth.InvalidClient)

			unknown := clientCredentialsForm(c)
			unknown.Set("client_id", "grantbench-unknown-client")
			unknown.Set("client_secret", c.ClientSecret)
			r = e.post(ctx, "token", e.metadata().TokenEndpoint, nil, authNone, unknown)
			expectTokenError(r, oauth.InvalidClient)
		})

		It("C4: a grant type the client is not allowed gets unauthorized_client", check("C4", "rfc6749"), func(ctx SpecContext) {
			if public, err := e.target.Client(flows.RolePublic); err == nil {
				// RFC 6749 4.4: client credentials are for confidential clients
				// only, so no provider may allow them to a public client.
				r := e.post(ctx, "token", e.metadata().TokenEndpoint, public, authClientID, url.Values{"grant_type": {"client_credentials"}})
				Expect(hasMember(r, "access_token")).To(BeFalse(), "a public client got a client credentials token; got %s", r.describe())
				if r.str("error") != oauth.InvalidClient.String() {
					expectTokenError(r, oauth.UnauthorizedClient)
					return
				}
				// invalid_client says the public client could not authenticate,
				// not that the grant is restricted: try the confidential client.
				AddReportEntry("public client", "client_credentials refused as invalid_client, which says nothing of grant restrictions: "+r.describe(), ReportEntryVisibilityFailureOrVerbose)
			}
			// The confidential client runs the code grant, and the password
			// grant is the one a well-configured provider does not let it use.
			c := e.confidential(flows.RoleConfidential)
			if legacy, err := e.target.Client(flows.RoleLegacy); err == nil && legacy.ClientID == c.ClientID {
				Skip("the confidential client is also the legacy client, allowed the password grant, and the public client's refusal (invalid_client) proves nothing")
			}
			form := url.Values{"grant_type": {"password"}, "username": {e.target.User.Username}, "password": {e.target.User.Password}}
			codes := []oauth.ErrorCode{oauth.UnauthorizedClient}
			if gts := e.metadata().GrantTypesSupported; len(gts) > 0 && !slices.Contains(gts, "password") {
				// A provider without the password grant at all may say so instead.
				codes = append(codes, oauth.UnsupportedGrantType)
			}
			expectTokenError(e.token(ctx, c, form), codes...)
		})

		It("C5: an unknown grant_type gets unsupported_grant_type", check("C5", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			r := e.token(ctx, c, url.Values{"grant_type": {"urn:grantbench:unknown-grant"}})
			expectTokenError(r, oauth.UnsupportedGrantType)
		})

		It("C6: a scope beyond the client's is refused with invalid_scope or left out of the grant, never granted", check("C6", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			form := clientCredentialsForm(c)
			asked := strings.TrimSpace(form.Get("scope") + " " + unknownScope)
			form.Set("scope", asked)
			r := e.token(ctx, c, form)
			if r.Status != http.StatusOK {
				expectTokenError(r, oauth.InvalidScope)
				return
			}
			// RFC 6749 3.3: the server "MAY fully or partially ignore the scope
			// requested"; what it must not do is grant the scope.
			tr := expectTokenResponse(r, "token request with an unknown scope")
			if tr.Scope != "" {
				Expect(strings.Fields(tr.Scope)).NotTo(ContainElement(unknownScope), "the response grants scope %q, which the client may not have; a server may ignore it (RFC 6749 3.3) but never grant it", unknownScope)
				return
			}
			// No scope member says the grant is the scope asked for (RFC 6749
			// 5.1), unknown scope and all. Introspection tells what it is.
			if !e.canIntrospect() {
				e.warn("the token response omits scope, which RFC 6749 5.1 requires when the grant differs from the request (%q); without introspection the grant cannot be told apart from one of the unknown scope", asked)
				return
			}
			info := e.introspect(ctx, tr.AccessToken)
			granted, _ := info.object()["scope"].(string)
			Expect(strings.Fields(granted)).NotTo(ContainElement(unknownScope), "introspection says the token carries scope %q, which the client may not have", unknownScope)
			e.warn("the token response omits scope although the grant (%q, by introspection) differs from the request (%q): RFC 6749 5.1 requires scope then", granted, asked)
		})

		It("C7: GET on the token endpoint, or credentials in the query, are refused", check("C7", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			tokenURL, err := url.Parse(e.metadata().TokenEndpoint)
			Expect(err).NotTo(HaveOccurred())

			q := clientCredentialsForm(c)
			q.Set("client_id", c.ClientID)
			q.Set("client_secret", c.ClientSecret)
			get := *tokenURL
			get.RawQuery = q.Encode()
			r := e.get(ctx, "token", get.String(), nil)
			Expect(r.Status).To(BeNumerically(">=", 400), "GET on the token endpoint must be refused (RFC 6749 3.2); got %s", r.describe())
			Expect(r.Status).To(BeNumerically("<", 500), "refused with a 4xx, never a 5xx; got %s", r.describe())
			Expect(hasMember(r, "access_token")).To(BeFalse(), "no token for a GET")

			inQuery := *tokenURL
			inQuery.RawQuery = url.Values{"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}.Encode()
			r = e.postRaw(ctx, "token", inQuery.String(), nil, clientCredentialsForm(c).Encode())
			Expect(r.Status).To(BeNumerically(">=", 400), "client credentials in the URI query must not authenticate (RFC 6749 2.3.1); got %s", r.describe())
			Expect(r.Status).To(BeNumerically("<", 500), "refused with a 4xx; got %s", r.describe())
			Expect(hasMember(r, "access_token")).To(BeFalse(), "no token for credentials in the query")
		})

		It("C8: a body without grant_type, with a parameter repeated or of 1 MiB gets invalid_request (400); no malformed body gets a 5xx or a dropped connection", check("C8", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			auth := http.Header{"Authorization": {basicAuth(c.ClientID, c.ClientSecret)}}
			endpoint := e.metadata().TokenEndpoint

			By("no grant_type (RFC 6749 4.4.2: REQUIRED)")
			expectTokenError(e.postMalformed(ctx, endpoint, auth, "scope=x", "no grant_type"), oauth.InvalidRequest)

			By("grant_type sent twice (RFC 6749 3.2: parameters MUST NOT be included more than once)")
			expectTokenError(e.postMalformed(ctx, endpoint, auth, "grant_type=client_credentials&grant_type=client_credentials", "a repeated grant_type"), oauth.InvalidRequest)

			By("bad percent-encoding")
			// RFC 6749 defers the form encoding to HTML; the WHATWG parser keeps
			// "%zz" literally, so the request may be answered as one with the
			// scope "%zz". Only a crash or a 5xx is wrong.
			r := e.postMalformed(ctx, endpoint, auth, "grant_type=client_credentials&scope=%zz", "a bad percent-escape")
			Expect(r.Status).To(BeNumerically("<", 500), "a bad percent-escape: never a 5xx; got %s", r.describe())

			By("a 1 MiB body")
			big := "grant_type=client_credentials&pad=" + strings.Repeat("a", 1<<20)
			r, err := e.postOnOwnConnection(ctx, endpoint, auth, big)
			Expect(err).NotTo(HaveOccurred(), "a 1 MiB body: the connection ended without a response (a crashed handler, a reset); a too large body must get an error response")
			AddReportEntry("1 MiB body", r.describe(), ReportEntryVisibilityFailureOrVerbose)
			Expect(r.Status).To(BeNumerically(">=", 400), "a 1 MiB body is refused; got %s", r.describe())
			Expect(r.Status).To(BeNumerically("<", 500), "a 1 MiB body: never a 5xx; got %s", r.describe())
			if r.Status != http.StatusRequestEntityTooLarge {
				expectTokenError(r, oauth.InvalidRequest)
			}
		})

		It("C9: every token endpoint error is JSON with an RFC 6749 code and Cache-Control no-store", check("C9", "rfc6749"), func(ctx SpecContext) {
			c := e.confidential(e.target.ServiceRole())
			endpoint := e.metadata().TokenEndpoint
			good := http.Header{"Authorization": {basicAuth(c.ClientID, c.ClientSecret)}}
			bad := http.Header{"Authorization": {basicAuth(c.ClientID, c.ClientSecret+"-wrong")}}
			cases := []struct {
				what   string
				header http.Header
				body   string
			}{
				{"bad client secret", bad, clientCredentialsForm(c).Encode()},
				{"unknown grant type", good, "grant_type=urn:grantbench:unknown-grant"},
				{"no grant type", good, "scope=x"},
				{"unknown scope", good, url.Values{"grant_type": {"client_credentials"}, "scope": {unknownScope}}.Encode()},
				{"invalid code", good, url.Values{"grant_type": {"authorization_code"}, "code": {"grantbench-invalid-code"}, "redirect_uri": {c.RedirectURI}}.Encode()},
				{"invalid refresh token", good, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"grantbench-invalid-refresh-token"}}.Encode()},
			}
			errorsSeen := 0
			for _, tc := range cases {
				r := e.postRaw(ctx, "token", endpoint, tc.header, tc.body)
				if r.Status < 400 {
					// Not refusing is another check's failure (C3, C5, C6, C8,
					// AC2, R6): C9 judges the form of the errors that came.
					AddReportEntry("not an error", tc.what+": "+r.describe(), ReportEntryVisibilityFailureOrVerbose)
					continue
				}
				errorsSeen++
				Expect(r.Status).To(BeNumerically("<", 500), "%s: a 4xx; got %s", tc.what, r.describe())
				Expect(r.isJSON()).To(BeTrue(), "%s: Content-Type application/json; got %s", tc.what, r.describe())
				Expect(r.str("error")).To(BeElementOf(rfc6749TokenErrors), "%s: error is an RFC 6749 5.2 code; got %s", tc.what, r.describe())
				Expect(cacheDirectives(r.Header)).To(ContainElement("no-store"), "%s: Cache-Control no-store; got %q", tc.what, r.Header.Values("Cache-Control"))
			}
			Expect(errorsSeen).To(BeNumerically(">", 0), "none of %d bad requests got an error response", len(cases))
		})
	})
}
