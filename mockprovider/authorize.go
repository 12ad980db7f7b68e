package mockprovider

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/grantbench/grantbench/oauth"
)

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
		p.renderError(w, r, oauth.InvalidRequest, "the authorization endpoint takes GET")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		p.renderError(w, r, oauth.InvalidRequest, "the query is not valid URL encoding")
		return
	}
	// Repeated parameters are refused (RFC 6749 3.1) unless the
	// duplicate_params_allowed defect is on, which takes the first value.
	dupName, dup := repeatedParam(q)
	dupsAllowed := dup && p.defectFor(q.Get("client_id"), dDuplicateParamsAllowed)
	if !dupsAllowed && (len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1) {
		p.renderError(w, r, oauth.InvalidRequest, "client_id or redirect_uri is repeated")
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		p.renderError(w, r, oauth.InvalidRequest, "client_id is required")
		return
	}
	client := p.client(clientID)
	if client == nil {
		p.renderError(w, r, oauth.InvalidClient, "unknown client")
		return
	}
	fromPAR := false
	if q.Has("request_uri") {
		// RFC 9126 4: the pushed parameters stand in for the query's.
		pushed, oerr := p.pushedParams(q, client)
		if oerr != nil {
			p.renderError(w, r, oerr.code, oerr.description)
			return
		}
		q, fromPAR = pushed, true
		dupName, dup, dupsAllowed = "", false, false // the PAR endpoint refused repeats
	}
	p.rpSeeAuthorization(client.ID, q, p.now())
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
		p.renderError(w, r, oauth.InvalidRequest, "redirect_uri is missing or not registered for this client")
		return
	}
	target.uri = redirectURI
	// Implicit responses, errors included, go in the fragment (RFC 6749 4.2.2.1).
	target.fragment = q.Get("response_type") == oauth.ResponseTypeToken && p.allows(client, GrantImplicit)
	if !fromPAR && p.requiresPAR(client) {
		p.redirectError(w, r, target, oauth.InvalidRequest, "this client must push its authorization requests to the pushed authorization request endpoint (RFC 9126 5, 6)")
		return
	}
	// From here on the client and redirect URI are trusted: errors go back
	// to the client (RFC 6749 4.1.2.1). A provider may check the rest of the
	// request only after the user logged in (the defer_authorization_errors
	// behaviour): the refusal then waits in the interaction.
	deferErrors := p.cfg.Behaviour.DeferAuthorizationErrors
	var deferred *oauthError
	if dup && !dupsAllowed {
		e := invalidRequest(fmt.Sprintf("parameter %q is repeated", dupName))
		if !deferErrors {
			p.redirectError(w, r, target, e.code, e.description)
			return
		}
		deferred = e
	}
	// Unknown parameters are ignored (RFC 6749 3.1).
	if unknown := unknownAuthorizeParam(q); unknown != "" && p.defect(client, dUnknownParamRejected) {
		p.redirectError(w, r, target, oauth.InvalidRequest, fmt.Sprintf("unknown parameter %q", truncate(unknown, 40)))
		return
	}
	responseType, scopes, oerr := p.checkResponseTypeAndScope(client, q)
	if oerr != nil {
		p.redirectError(w, r, target, oerr.code, oerr.description)
		return
	}
	var challenge, method string
	if responseType == oauth.ResponseTypeCode {
		challenge, method, oerr = p.checkChallenge(client, q)
		if oerr != nil && !deferErrors {
			p.redirectError(w, r, target, oerr.code, oerr.description)
			return
		}
		if oerr != nil && deferred == nil {
			deferred = oerr
		}
	}
	prompts, ok := parsePrompt(q.Get("prompt"))
	if !ok {
		p.redirectError(w, r, target, oauth.InvalidRequest, "prompt=none cannot be combined with other values")
		return
	}
	if p.cfg.Behaviour.OfflineAccessNeedsConsent && !prompts["consent"] {
		// OIDC Core 11: without prompt=consent, offline_access is ignored.
		scopes = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == oauth.ScopeOfflineAccess })
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
		deferredError: deferred,
	}
	session := p.session(r, now)
	if prompts["none"] {
		switch {
		case session == nil:
			p.redirectError(w, r, target, oauth.LoginRequired, "no login session")
		case !subsetOf(scopes, session.consented[client.ID]):
			p.redirectError(w, r, target, oauth.ConsentRequired, "the user has not approved these scopes")
		default:
			p.completeAuthorization(w, r, in, session, now)
		}
		return
	}
	id := p.saveInteraction(in, now)
	if session == nil || prompts["login"] {
		if p.cfg.Behaviour.LoginApp {
			p.redirectToLoginApp(w, r, id)
			return
		}
		p.renderLogin(w, r, id, client, "")
		return
	}
	if p.cfg.Behaviour.RememberConsent && !prompts["consent"] && subsetOf(scopes, session.consented[client.ID]) {
		// Approved before in this session: no need to ask again.
		p.takeInteraction(id, now)
		p.completeAuthorization(w, r, in, session, now)
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
	responseType, scopes, oerr = p.checkResponseTypeAndScope(client, q)
	if oerr != nil || responseType != oauth.ResponseTypeCode {
		return responseType, scopes, "", "", oerr
	}
	challenge, method, oerr = p.checkChallenge(client, q)
	if oerr != nil {
		return "", nil, "", "", oerr
	}
	return responseType, scopes, challenge, method, nil
}

// checkResponseTypeAndScope validates response_type and scope (RFC 6749
// 4.1.1, 4.2.1, 3.3).
func (p *Provider) checkResponseTypeAndScope(client *Client, q url.Values) (responseType string, scopes []string, oerr *oauthError) {
	responseType = q.Get("response_type")
	switch responseType {
	case oauth.ResponseTypeCode:
		if !p.allows(client, GrantAuthorizationCode) {
			return "", nil, unauthorizedClient("this client may not use the authorization code flow")
		}
	case oauth.ResponseTypeToken:
		if !p.allows(client, GrantImplicit) {
			return "", nil, unauthorizedClient("this client may not use the implicit flow")
		}
	default:
		if p.defect(client, dResponseTypeUnchecked) {
			responseType = oauth.ResponseTypeCode
			break
		}
		if responseType == "" {
			return "", nil, invalidRequest("response_type is required")
		}
		return "", nil, newError(oauth.UnsupportedResponseType, "response_type must be code (or token for implicit clients)")
	}
	scopes, oerr = p.resolveScope(client, q.Get("scope"))
	if oerr != nil {
		return "", nil, oerr
	}
	return responseType, scopes, nil
}

// checkChallenge validates the code challenge of a code request (RFC 7636 4.3,
// 4.4.1; RFC 9700 2.1.1).
func (p *Provider) checkChallenge(client *Client, q url.Values) (challenge, method string, oerr *oauthError) {
	challenge, method = q.Get("code_challenge"), q.Get("code_challenge_method")
	plainAllowed := p.defect(client, dPKCEPlainAllowed)
	switch {
	case challenge == "" && method != "":
		oerr = invalidRequest("code_challenge_method without code_challenge")
	case challenge == "" && client.Public && !p.defect(client, dPKCEOptionalPublic):
		// RFC 7636 4.4.1, RFC 9700 2.1.1: public clients must use PKCE.
		oerr = invalidRequest("code_challenge is required for public clients")
	case challenge != "" && (method == oauth.PKCEPlain || method == "") && plainAllowed:
		method = oauth.PKCEPlain
		if len(challenge) < 43 || len(challenge) > 128 {
			oerr = invalidRequest("code_challenge must be 43 to 128 characters")
		}
	case challenge != "" && method != oauth.PKCES256:
		// A missing method means plain (RFC 7636 4.3); only S256 is supported.
		oerr = invalidRequest("code_challenge_method must be S256")
	case challenge != "" && !validChallenge(challenge):
		oerr = invalidRequest("code_challenge must be 43 base64url characters (S256)")
	}
	if oerr != nil {
		return "", "", oerr
	}
	return challenge, method, nil
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
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, t redirectTarget, code oauth.ErrorCode, description string) {
	p.counters.countError(code)
	params := url.Values{"error": {code.String()}}
	if description != "" {
		params.Set("error_description", description)
	}
	p.redirectTo(w, r, t, params)
}

// redirectTo answers 303 to the client's redirect URI with params (plus state
// and iss) in the query or the fragment.
func (p *Provider) redirectTo(w http.ResponseWriter, r *http.Request, t redirectTarget, params url.Values) {
	if t.hasState && !p.defect(t.client, dStateDropped) && !p.rpHas(t.client, RPStateDropped) {
		params.Set("state", t.state)
	}
	if p.defect(t.client, dWrongResponseIss) || p.rpHas(t.client, RPResponseIssOther) {
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
	if t.client != nil {
		p.rpSeeCallback(t.client.ID, target, t.fragment, p.now())
	}
	setPageHeaders(w.Header(), p.defect(t.client, dFrameableLogin))
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}
