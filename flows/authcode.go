package flows

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"

	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

// AuthCodeOptions configure [AuthCode].
type AuthCodeOptions struct {
	// Role is the client (default confidential).
	Role Role
	// Scopes requested; nil means the client's scopes.
	Scopes []string
	// Params replace authorization request parameters after the flow built them
	// (extra ones, or e.g. code_challenge_method=plain); a key with an empty
	// slice removes the parameter (e.g. response_type, code_challenge).
	Params url.Values
	// RedirectURI overrides the client's redirect URI.
	RedirectURI string
	// Consent chooses browser or form posts; default ConsentBrowser when Browser
	// is set, else ConsentHTTP.
	Consent ConsentMode
	// Browser drives the pages in ConsentBrowser mode.
	Browser *Browser
	// Session carries cookies between ConsentHTTP flows (nil: a fresh one), so a
	// second flow can skip the login page.
	Session *Session
	// FreshBrowserSession runs a ConsentBrowser flow in a tab without the
	// browser's cookies, so the provider shows its login page again.
	FreshBrowserSession bool
	// Deny answers the consent page with Deny.
	Deny bool
	// NoPKCE sends no code_challenge and no code_verifier.
	NoPKCE bool
	// NoNonce sends no nonce (one is sent by default when openid is requested).
	NoNonce bool
	// State is the state to send ("" sends a random one): B8 sends odd bytes.
	State string
	// CodeVerifier is the PKCE verifier to use ("" makes a random one; ignored
	// with NoPKCE).
	CodeVerifier string
	// StopAfterAuthorization returns once the authorization response arrived,
	// without checking state or redeeming the code, so suites can misuse it
	// (redeem it twice, as another client, ...) with [ExchangeCode].
	StopAfterAuthorization bool
	Record                 RecordMode
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCode runs the authorization code grant (RFC 6749 4.1) with PKCE S256
// (RFC 7636), state and, for openid, a nonce. Steps: "authorize" (and the
// follow-ups of its redirects), "login" and "consent" when those pages show,
// "token". The authorization response's state must equal the one sent (RFC 6749
// 10.12), else a [*ResponseError]; an error response gives an [*OAuthError]
// with the response's parameters. Result.Authorization always holds what was
// sent and received.
func AuthCode(ctx context.Context, t *Target, opts AuthCodeOptions) (*Result, error) {
	role := opts.Role
	if role == "" {
		role = RoleConfidential
	}
	r, err := begin(ctx, t, FlowAuthCode, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	req := authorizeRequest{
		responseType: "code", scopes: opts.Scopes, params: opts.Params, redirectURI: opts.RedirectURI,
		consent: opts.Consent, browser: opts.Browser, session: opts.Session, deny: opts.Deny,
		freshBrowser: opts.FreshBrowserSession, pkce: !opts.NoPKCE, nonce: !opts.NoNonce, state: opts.State, verifier: opts.CodeVerifier,
	}
	authz, err := r.authorize(ctx, req)
	if err != nil || opts.StopAfterAuthorization {
		return r.done(err)
	}
	if err := checkState(authz); err != nil {
		return r.done(err)
	}
	if authz.Code() == "" {
		return r.done(&ResponseError{Step: "authorize", Reason: "authorization response has no code"})
	}
	tok, err := r.exchange(ctx, authz.Code(), authz.RedirectURI, authz.CodeVerifier, nil)
	r.res.setToken(tok)
	return r.done(err)
}

// ExchangeOptions configure [ExchangeCode].
type ExchangeOptions struct {
	// Role is the client redeeming the code (default confidential).
	Role Role
	Code string
	// RedirectURI is sent as redirect_uri ("" sends none).
	RedirectURI string
	// CodeVerifier is sent as code_verifier ("" sends none).
	CodeVerifier string
	// Params are extra token request parameters.
	Params url.Values
	Record RecordMode
}

// ExchangeCode redeems an authorization code (RFC 6749 4.1.3), step "token": the
// second half of [AuthCode], for suites that stopped after the authorization
// response.
func ExchangeCode(ctx context.Context, t *Target, opts ExchangeOptions) (*Result, error) {
	role := opts.Role
	if role == "" {
		role = RoleConfidential
	}
	r, err := begin(ctx, t, FlowAuthCode, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	tok, err := r.exchange(ctx, opts.Code, opts.RedirectURI, opts.CodeVerifier, opts.Params)
	r.res.setToken(tok)
	return r.done(err)
}

func (r *run) exchange(ctx context.Context, code, redirectURI, verifier string, params url.Values) (*oauth2.Token, error) {
	conf := oauthConfig(r.md, r.client, nil, redirectURI)
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	params, err := r.t.withClientAssertion(ctx, r.client, params)
	if err != nil {
		return nil, err
	}
	for k, vs := range params {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	tok, err := conf.Exchange(r.ctx(ctx, "token"), code, opts...)
	return tok, classifyTokenError("token", err, r.rec.takeTransportErr())
}

// checkState compares the returned state with the one sent.
func checkState(a *Authorization) error {
	if got := a.ReturnedState(); got != a.State {
		return &ResponseError{Step: "authorize", Reason: "authorization response state differs from the one sent (RFC 6749 10.12)"}
	}
	return nil
}

// authorizeRequest is what the authorization-request half of a redirect flow
// needs (shared by the code and implicit grants).
type authorizeRequest struct {
	responseType string
	scopes       []string
	params       url.Values
	redirectURI  string
	consent      ConsentMode
	browser      *Browser
	session      *Session
	deny, pkce   bool
	nonce        bool
	freshBrowser bool
	// state and verifier are the caller's choice, "" for random ones.
	state, verifier string
}

// authorize sends the authorization request, drives login and consent, and
// catches the response. It fills r.res.Authorization and r.res.Consent.
func (r *run) authorize(ctx context.Context, req authorizeRequest) (*Authorization, error) {
	if r.md.AuthorizationEndpoint == "" {
		return nil, &UnsupportedError{What: "the authorization endpoint (none in its metadata)"}
	}
	redirect := req.redirectURI
	if redirect == "" {
		redirect = r.client.RedirectURI
	}
	if redirect == "" {
		return nil, &ProfileError{Field: "clients." + string(r.res.Role) + ".redirect_uri", Err: errors.New("is required for redirect-based flows")}
	}
	mode := req.consent
	if mode == "" {
		mode = ConsentHTTP
		if req.browser != nil {
			mode = ConsentBrowser
		}
	}
	r.res.Consent = mode
	var listener *CallbackListener
	if mode == ConsentBrowser {
		if req.browser == nil {
			return nil, errors.New("flows: ConsentBrowser needs AuthCodeOptions.Browser")
		}
		var err error
		if listener, err = ListenCallback(redirect); err != nil {
			return nil, err
		}
		defer listener.Close()
		// The browser's wait ends on the listener, so the callback needs no page.
		listener.AnswerWithoutPage()
		redirect = listener.RedirectURI()
	}
	scopes := req.scopes
	if scopes == nil {
		scopes = r.client.Scopes
	}
	authz := &Authorization{RedirectURI: redirect, State: req.state}
	if authz.State == "" {
		authz.State = randomToken(24)
	}
	r.res.Authorization = authz
	conf := oauthConfig(r.md, r.client, scopes, redirect)
	var opts []oauth2.AuthCodeOption
	if req.pkce {
		authz.CodeVerifier = req.verifier
		if authz.CodeVerifier == "" {
			authz.CodeVerifier = oauth2.GenerateVerifier()
		}
		opts = append(opts, oauth2.S256ChallengeOption(authz.CodeVerifier))
	}
	if req.nonce && slices.Contains(scopes, "openid") {
		authz.Nonce = randomToken(24)
		opts = append(opts, oauth2.SetAuthURLParam("nonce", authz.Nonce))
	}
	u, err := url.Parse(conf.AuthCodeURL(authz.State, opts...))
	if err != nil {
		return nil, &ResponseError{Step: "authorize", Reason: "bad authorization endpoint", Err: err}
	}
	q := u.Query()
	q.Set("response_type", req.responseType)
	for k, v := range r.t.AuthorizeParams {
		q.Set(k, v)
	}
	if slices.Contains(scopes, oauth.ScopeOfflineAccess) && !q.Has("prompt") {
		// OIDC Core 11: a provider MUST ignore offline_access unless the
		// request has prompt=consent (or its own rules say consent was given).
		q.Set("prompt", "consent")
	}
	for k, vs := range req.params {
		if len(vs) == 0 {
			q.Del(k)
		} else {
			q[k] = vs
		}
	}
	u.RawQuery = q.Encode()
	authz.URL = u.String()
	if r.client.PAR {
		// RFC 9126 4: the parameters go to the PAR endpoint, the front
		// channel carries client_id and the request_uri.
		pushed, err := r.push(ctx, q)
		if err != nil {
			return authz, err
		}
		if authz.URL, err = pushedAuthorizeURL(r.md.AuthorizationEndpoint, r.client.ClientID, pushed.RequestURI); err != nil {
			return authz, err
		}
	}

	var cb *CallbackResponse
	if mode == ConsentBrowser {
		cb, err = req.browser.authorize(ctx, r, authz.URL, listener, req.deny, req.freshBrowser)
	} else {
		cb, err = r.authorizeHTTP(ctx, authz.URL, redirect, req.session, req.deny)
	}
	if err != nil {
		return authz, err
	}
	authz.Response = cb.Params
	authz.ResponseInFragment = cb.Fragment
	if code := cb.Params.Get("error"); code != "" {
		return authz, &OAuthError{Step: "authorize", Code: code, Description: cb.Params.Get("error_description"),
			URI: cb.Params.Get("error_uri"), Params: cb.Params}
	}
	return authz, nil
}

// authorizeHTTP runs the authorization request with form posts (ConsentHTTP).
func (r *run) authorizeHTTP(ctx context.Context, authURL, redirect string, session *Session, deny bool) (*CallbackResponse, error) {
	if session == nil {
		session = NewSession()
	}
	redirectURL, err := url.Parse(redirect)
	if err != nil {
		return nil, &ProfileError{Field: "clients." + string(r.res.Role) + ".redirect_uri", Err: err}
	}
	d := &pageDriver{t: r.t, client: r.t.sessionClient(session.jar), rec: r.rec, deny: deny}
	req, err := newGet(authURL)
	if err != nil {
		return nil, err
	}
	out, err := d.drive(ctx, req, "authorize", redirectURL)
	if err != nil {
		return nil, err
	}
	if out.callback == nil {
		return nil, &ResponseError{Step: "authorize", Reason: "the provider never redirected to the client"}
	}
	return out.callback, nil
}
