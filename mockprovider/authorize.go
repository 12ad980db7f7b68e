package mockprovider

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Interaction kinds: a pending login/consent for /authorize or for the
// device verification page.
const (
	interactionAuthorize = iota
	interactionDevice
)

// interaction is a login/consent in progress, keyed by a random id carried
// in the pages' hidden "interaction" field. It holds no user: the consent
// step reads the user from the session cookie.
type interaction struct {
	kind   int
	exp    time.Time
	client *Client
	scopes []string

	// authorize
	redirect redirectTarget
	// redirectParam is redirect_uri as sent ("" when defaulted), which the
	// token request must repeat (RFC 6749 4.1.3).
	redirectParam string
	responseType  string
	nonce         string
	challenge     string
	method        string

	// device
	device *deviceRecord
}

func (i *interaction) expiry() time.Time { return i.exp }

// redirectTarget is where and how an authorization response goes back.
type redirectTarget struct {
	client   *Client
	uri      string
	fragment bool
	state    string
	hasState bool
}

// handleAuthorize is the authorization endpoint (RFC 6749 3.1, 4.1.1, 4.2.1).
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		p.renderError(w, r, errInvalidRequest, "the authorization endpoint takes GET")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.renderError(w, r, errInvalidRequest, "the query is not valid URL encoding")
		return
	}
	// Repeated parameters are refused (RFC 6749 3.1) unless the
	// duplicate_params_allowed defect is on, which takes the first value.
	dupName, dup := repeatedParam(q)
	dupsAllowed := dup && p.defectFor(q.Get("client_id"), dDuplicateParamsAllowed)
	if !dupsAllowed && (len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1) {
		p.renderError(w, r, errInvalidRequest, "client_id or redirect_uri is repeated")
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		p.renderError(w, r, errInvalidRequest, "client_id is required")
		return
	}
	client := p.clients[clientID]
	if client == nil {
		p.renderError(w, r, errInvalidClient, "unknown client")
		return
	}
	var target redirectTarget
	if states, ok := q["state"]; ok && (len(states) == 1 || dupsAllowed) {
		target.state, target.hasState = states[0], true
	}
	target.client = client
	redirectParam := q.Get("redirect_uri")
	redirectURI, ok := p.resolveRedirectURI(client, redirectParam)
	if !ok {
		if redirectParam != "" && p.defect(client, dErrorToUnregistered) {
			// The defect: request errors are checked first and sent to
			// whatever redirect_uri was given.
			if _, _, _, _, oerr := p.checkAuthorizeParams(client, q); oerr != nil {
				target.uri = redirectParam
				p.redirectError(w, r, target, oerr.code, oerr.description)
				return
			}
		}
		p.renderError(w, r, errInvalidRequest, "redirect_uri is missing or not registered for this client")
		return
	}
	target.uri = redirectURI
	// Implicit responses, errors included, go in the fragment (RFC 6749 4.2.2.1).
	target.fragment = q.Get("response_type") == "token" && p.allows(client, GrantImplicit)
	// From here on the client and redirect URI are trusted: errors go back
	// to the client (RFC 6749 4.1.2.1).
	if dup && !dupsAllowed {
		p.redirectError(w, r, target, errInvalidRequest, fmt.Sprintf("parameter %q is repeated", dupName))
		return
	}
	// Unknown parameters are ignored (RFC 6749 3.1).
	if unknown := unknownAuthorizeParam(q); unknown != "" && p.defect(client, dUnknownParamRejected) {
		p.redirectError(w, r, target, errInvalidRequest, fmt.Sprintf("unknown parameter %q", truncate(unknown, 40)))
		return
	}
	responseType, scopes, challenge, method, oerr := p.checkAuthorizeParams(client, q)
	if oerr != nil {
		p.redirectError(w, r, target, oerr.code, oerr.description)
		return
	}
	prompts, ok := parsePrompt(q.Get("prompt"))
	if !ok {
		p.redirectError(w, r, target, errInvalidRequest, "prompt=none cannot be combined with other values")
		return
	}
	now := p.now()
	in := &interaction{
		kind:          interactionAuthorize,
		exp:           now.Add(p.cfg.Lifetimes.Interaction),
		client:        client,
		scopes:        scopes,
		redirect:      target,
		redirectParam: redirectParam,
		responseType:  responseType,
		nonce:         q.Get("nonce"),
		challenge:     challenge,
		method:        method,
	}
	session := p.session(r, now)
	if prompts["none"] {
		switch {
		case session == nil:
			p.redirectError(w, r, target, errLoginRequired, "no login session")
		case !subsetOf(scopes, session.consented[client.ID]):
			p.redirectError(w, r, target, errConsentRequired, "the user has not approved these scopes")
		default:
			p.completeAuthorization(w, r, in, session, now)
		}
		return
	}
	id := p.saveInteraction(in, now)
	if session == nil || prompts["login"] {
		p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id, ClientName: clientName(client), client: client})
		return
	}
	p.renderConsent(w, r, id, in, session)
}

// knownAuthorizeParams are the authorization request parameters of RFC 6749,
// RFC 7636 and OIDC Core; only the unknown_param_rejected defect cares.
var knownAuthorizeParams = map[string]bool{"client_id": true, "redirect_uri": true, "response_type": true,
	"scope": true, "state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"prompt": true, "response_mode": true, "max_age": true, "login_hint": true, "ui_locales": true,
	"display": true, "claims": true, "id_token_hint": true, "acr_values": true, "request": true,
	"request_uri": true, "resource": true}

func unknownAuthorizeParam(q url.Values) string {
	for name := range q {
		if !knownAuthorizeParams[name] {
			return name
		}
	}
	return ""
}

// checkAuthorizeParams validates response_type, scope and PKCE (RFC 6749
// 4.1.1, 4.2.1; RFC 7636 4.3).
func (p *Provider) checkAuthorizeParams(client *Client, q url.Values) (responseType string, scopes []string, challenge, method string, oerr *oauthError) {
	responseType = q.Get("response_type")
	switch responseType {
	case "code":
		if !p.allows(client, GrantAuthorizationCode) {
			return "", nil, "", "", unauthorizedClient("this client may not use the authorization code flow")
		}
	case "token":
		if !p.allows(client, GrantImplicit) {
			return "", nil, "", "", unauthorizedClient("this client may not use the implicit flow")
		}
	default:
		if p.defect(client, dResponseTypeUnchecked) {
			responseType = "code"
			break
		}
		if responseType == "" {
			return "", nil, "", "", invalidRequest("response_type is required")
		}
		return "", nil, "", "", newError(errUnsupportedResponseType, "response_type must be code (or token for implicit clients)")
	}
	scopes, oerr = p.resolveScope(client, q.Get("scope"))
	if oerr != nil {
		return "", nil, "", "", oerr
	}
	if responseType != "code" {
		return responseType, scopes, "", "", nil
	}
	challenge, method = q.Get("code_challenge"), q.Get("code_challenge_method")
	plainAllowed := p.defect(client, dPKCEPlainAllowed)
	switch {
	case challenge == "" && method != "":
		oerr = invalidRequest("code_challenge_method without code_challenge")
	case challenge == "" && client.Public && !p.defect(client, dPKCEOptionalPublic):
		// RFC 7636 4.4.1, RFC 9700 2.1.1: public clients must use PKCE.
		oerr = invalidRequest("code_challenge is required for public clients")
	case challenge != "" && (method == "plain" || method == "") && plainAllowed:
		method = "plain"
		if len(challenge) < 43 || len(challenge) > 128 {
			oerr = invalidRequest("code_challenge must be 43 to 128 characters")
		}
	case challenge != "" && method != "S256":
		// A missing method means plain (RFC 7636 4.3); only S256 is supported.
		oerr = invalidRequest("code_challenge_method must be S256")
	case challenge != "" && !validChallenge(challenge):
		oerr = invalidRequest("code_challenge must be 43 base64url characters (S256)")
	}
	if oerr != nil {
		return "", nil, "", "", oerr
	}
	return responseType, scopes, challenge, method, nil
}

// resolveRedirectURI applies RFC 6749 3.1.2.3 with RFC 9700 2.1 exact
// matching; a loopback URI registered without a port accepts any port
// (RFC 8252 7.3). With no redirect_uri sent, a client with exactly one
// registered URI gets that one.
func (p *Provider) resolveRedirectURI(c *Client, requested string) (string, bool) {
	if requested == "" {
		if len(c.RedirectURIs) == 1 || len(c.RedirectURIs) > 1 && p.defect(c, dRedirectDefaultFirst) {
			return c.RedirectURIs[0], true
		}
		return "", false
	}
	prefixMatch := p.defect(c, dRedirectPrefixMatch)
	for _, registered := range c.RedirectURIs {
		if requested == registered || loopbackMatch(registered, requested) {
			return requested, true
		}
		if prefixMatch && strings.HasPrefix(withoutLoopbackPort(requested), registered) {
			return requested, true
		}
	}
	if p.defect(c, dOpenRedirect) {
		if u, err := url.Parse(requested); err == nil && u.IsAbs() {
			return requested, true
		}
	}
	return "", false
}

// withoutLoopbackPort removes ":port" after a loopback host, for the
// redirect_prefix_match defect.
func withoutLoopbackPort(uri string) string {
	for _, host := range []string{"http://127.0.0.1:", "http://[::1]:", "http://localhost:"} {
		if rest, ok := strings.CutPrefix(uri, host); ok {
			n := 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			return host[:len(host)-1] + rest[n:]
		}
	}
	return uri
}

// loopbackMatch reports whether requested is registered with a port added:
// the same string except for ":port" right after a loopback host.
func loopbackMatch(registered, requested string) bool {
	for _, host := range []string{"http://127.0.0.1", "http://[::1]", "http://localhost"} {
		if !strings.HasPrefix(registered, host) || !strings.HasPrefix(requested, host+":") {
			continue
		}
		rest := registered[len(host):]
		if rest != "" && rest[0] == ':' {
			return false // registered with a port: exact match only
		}
		tail := requested[len(host)+1:]
		n := 0
		for n < len(tail) && n < 6 && tail[n] >= '0' && tail[n] <= '9' {
			n++
		}
		port, err := strconv.Atoi(tail[:n])
		if n == 0 || err != nil || port < 1 || port > 65535 || tail[0] == '0' {
			return false
		}
		return tail[n:] == rest && rest != "" && rest[0] == '/'
	}
	return false
}

// validChallenge: an S256 challenge is a base64url SHA-256, 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

func parsePrompt(s string) (map[string]bool, bool) {
	out := map[string]bool{}
	for _, v := range strings.Fields(s) {
		out[v] = true
	}
	return out, !out["none"] || len(out) == 1
}

func clientName(c *Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// redirectError sends an authorization error back to the client with state
// and iss (RFC 6749 4.1.2.1, RFC 9207 2).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, t redirectTarget, code, description string) {
	p.counters.countError(code)
	params := url.Values{"error": {code}}
	if description != "" {
		params.Set("error_description", description)
	}
	p.redirectTo(w, r, t, params)
}

// redirectTo answers 303 to the client's redirect URI with params (plus state
// and iss) in the query or the fragment.
func (p *Provider) redirectTo(w http.ResponseWriter, r *http.Request, t redirectTarget, params url.Values) {
	if t.hasState && !p.defect(t.client, dStateDropped) {
		params.Set("state", t.state)
	}
	if p.defect(t.client, dWrongResponseIss) {
		params.Set("iss", "https://wrong-issuer.example")
	} else {
		params.Set("iss", p.issuer)
	}
	target := t.uri
	if t.fragment {
		target += "#" + params.Encode()
	} else if strings.Contains(target, "?") {
		target += "&" + params.Encode()
	} else {
		target += "?" + params.Encode()
	}
	setPageHeaders(w.Header(), p.defect(t.client, dFrameableLogin))
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

func (p *Provider) saveInteraction(in *interaction, now time.Time) string {
	id := newSecret()
	p.store.mu.Lock()
	p.store.interactions.put(keyOf(id), in, now)
	p.store.mu.Unlock()
	return id
}

func (p *Provider) loadInteraction(id string, now time.Time) *interaction {
	if id == "" {
		return nil
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	in, ok := p.store.interactions.get(keyOf(id))
	if !ok || !now.Before(in.exp) {
		return nil
	}
	return in
}

// takeInteraction removes the interaction so that one consent decision is
// acted on once.
func (p *Provider) takeInteraction(id string, now time.Time) *interaction {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	k := keyOf(id)
	in, ok := p.store.interactions.get(k)
	if !ok || !now.Before(in.exp) {
		return nil
	}
	p.store.interactions.remove(k)
	return in
}

// session returns the login session of the request's cookie, if alive.
func (p *Provider) session(r *http.Request, now time.Time) *sessionRecord {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	s, ok := p.store.sessions.get(keyOf(c.Value))
	if !ok || !now.Before(s.exp) {
		return nil
	}
	return s
}

func (p *Provider) startSession(w http.ResponseWriter, u *User, now time.Time) {
	id := newSecret()
	s := &sessionRecord{user: u, authTime: now, exp: now.Add(p.cfg.Lifetimes.Session), consented: map[string][]string{}}
	p.store.mu.Lock()
	p.store.sessions.put(keyOf(id), s, now)
	p.store.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(p.cfg.Lifetimes.Session / time.Second)})
}

// readPageForm reads a page's form post and checks its CSRF token.
func (p *Provider) readPageForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.renderError(w, r, errInvalidRequest, "this form takes POST")
		return nil, false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		p.renderError(w, r, errInvalidRequest, "the form must be application/x-www-form-urlencoded")
		return nil, false
	}
	form, oerr := readFormBody(r, p.cfg.Limits.MaxBodyBytes)
	if oerr != nil {
		p.renderError(w, r, oerr.code, oerr.description)
		return nil, false
	}
	if !p.checkCSRF(r, form.Get("csrf_token")) {
		p.renderError(w, r, errInvalidRequest, "the form's CSRF token is missing or wrong; reload the page")
		return nil, false
	}
	return form, true
}

// handleLogin serves the login page (GET, for the device flow) and takes its
// form (POST). A good password starts a session and answers 303 (never
// 307, RFC 9700 4.12) to the consent page.
func (p *Provider) handleLogin(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	if r.Method == http.MethodGet {
		id := r.URL.Query().Get("interaction")
		in := p.loadInteraction(id, now)
		if in == nil {
			p.renderError(w, r, errInvalidRequest, "this sign-in has expired; start again from the application")
			return
		}
		p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id, ClientName: clientName(in.client), client: in.client})
		return
	}
	form, ok := p.readPageForm(w, r)
	if !ok {
		return
	}
	id := form.Get("interaction")
	in := p.loadInteraction(id, now)
	if in == nil {
		p.renderError(w, r, errInvalidRequest, "this sign-in has expired; start again from the application")
		return
	}
	user := p.checkPassword(form.Get("username"), form.Get("password"))
	if user == nil {
		p.log.Info("login failed", "username", truncate(form.Get("username"), 64))
		p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id,
			ClientName: clientName(in.client), Error: "Wrong username or password.", client: in.client})
		return
	}
	p.startSession(w, user, now)
	setPageHeaders(w.Header(), p.defect(in.client, dFrameableLogin))
	status := http.StatusSeeOther // RFC 9700 4.12: never 307, which would repost the password
	if p.defect(in.client, dRedirect307) {
		status = http.StatusTemporaryRedirect
	}
	http.Redirect(w, r, "/consent?interaction="+url.QueryEscape(id), status)
}

func (p *Provider) renderConsent(w http.ResponseWriter, r *http.Request, id string, in *interaction, s *sessionRecord) {
	p.renderPage(w, r, http.StatusOK, "consent", pageData{Title: "Approve access", Interaction: id,
		ClientName: clientName(in.client), Username: s.user.Username, Scopes: in.scopes, client: in.client})
}

// handleConsent shows the consent page (GET) and takes the decision (POST):
// approve or deny, answered 303 to the client, or the device result page.
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	if r.Method == http.MethodGet {
		id := r.URL.Query().Get("interaction")
		in := p.loadInteraction(id, now)
		if in == nil {
			p.renderError(w, r, errInvalidRequest, "this request has expired; start again from the application")
			return
		}
		session := p.session(r, now)
		if session == nil {
			p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id, ClientName: clientName(in.client), client: in.client})
			return
		}
		p.renderConsent(w, r, id, in, session)
		return
	}
	form, ok := p.readPageForm(w, r)
	if !ok {
		return
	}
	decision := form.Get("decision")
	if decision != "approve" && decision != "deny" {
		p.renderError(w, r, errInvalidRequest, "decision must be approve or deny")
		return
	}
	id := form.Get("interaction")
	session := p.session(r, now)
	if session == nil {
		in := p.loadInteraction(id, now)
		if in == nil {
			p.renderError(w, r, errInvalidRequest, "this request has expired; start again from the application")
			return
		}
		p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id, ClientName: clientName(in.client), client: in.client})
		return
	}
	in := p.takeInteraction(id, now)
	if in == nil {
		p.renderError(w, r, errInvalidRequest, "this request has expired or was already decided")
		return
	}
	if in.kind == interactionDevice {
		p.decideDevice(w, r, in, session, decision == "approve", now)
		return
	}
	if decision == "deny" && !p.defect(in.client, dDenyIgnored) {
		p.redirectError(w, r, in.redirect, errAccessDenied, "the user denied the request")
		return
	}
	p.store.mu.Lock()
	session.consented[in.client.ID] = mergeScopes(session.consented[in.client.ID], in.scopes)
	p.store.mu.Unlock()
	p.completeAuthorization(w, r, in, session, now)
}

func mergeScopes(have, add []string) []string {
	out := append([]string(nil), have...)
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// completeAuthorization sends the successful authorization response: a code
// (RFC 6749 4.1.2) or, for implicit clients, an access token in the fragment
// and never a refresh token (4.2.2). Both carry state and iss (RFC 9207).
func (p *Provider) completeAuthorization(w http.ResponseWriter, r *http.Request, in *interaction, s *sessionRecord, now time.Time) {
	g := &grant{clientID: in.client.ID, user: s.user, subject: s.user.Subject, scopes: in.scopes,
		authTime: s.authTime, nonce: in.nonce}
	if in.responseType == "token" {
		resp, oerr := p.issueOrFail(issueRequest{client: in.client, grant: g, accessScopes: p.scopeSetOf(in.scopes),
			refresh: p.defect(in.client, dImplicitRefreshToken), refreshScope: joinScopes(in.scopes)}, now)
		if oerr != nil {
			p.redirectError(w, r, in.redirect, oerr.code, oerr.description)
			return
		}
		p.counters.countGrant(GrantImplicit)
		params := url.Values{
			"access_token": {resp.accessToken},
			"token_type":   {"Bearer"},
			"expires_in":   {strconv.FormatInt(resp.expiresIn, 10)},
		}
		if resp.scope != "" {
			params.Set("scope", resp.scope)
		}
		if resp.refreshToken != "" {
			params.Set("refresh_token", resp.refreshToken)
		}
		p.redirectTo(w, r, in.redirect, params)
		return
	}
	code := p.newSecretFor(in.client)
	lifetime := p.cfg.Lifetimes.AuthorizationCode
	if p.defect(in.client, dCodeNeverExpires) {
		lifetime = farFuture
	}
	rec := &codeRecord{grant: g, redirectURI: in.redirectParam, challenge: in.challenge, challengeMethod: in.method,
		exp: now.Add(lifetime)}
	p.store.mu.Lock()
	p.store.codes.put(keyOf(code), rec, now)
	p.store.mu.Unlock()
	p.counters.countIssued(issuedCode)
	p.redirectTo(w, r, in.redirect, url.Values{"code": {code}})
}
