package mockprovider

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// handleToken is the token endpoint (RFC 6749 3.2): POST, form-encoded,
// client authenticated, then dispatched by grant_type.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	hint := "" // the client the request names, for defects before authentication
	if p.defects.Load().any {
		hint = clientHint(r, r.URL.Query())
	}
	noStore := !p.defectFor(hint, dNoCacheHeaders)
	form, oerr := p.readTokenForm(r, hint)
	if oerr != nil {
		if oerr.status != http.StatusMethodNotAllowed && p.defectFor(hint, dPanicOnBadInput) {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if oerr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		p.writeError(w, oerr, noStore)
		return
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.writeError(w, oerr, noStore && !p.defectFor(oerr.clientID, dNoCacheHeaders))
		return
	}
	noStore = !p.defect(client, dNoCacheHeaders)
	now := p.now()
	var resp tokenResponse
	grantType := form.Get("grant_type")
	switch grantType {
	case "":
		oerr = invalidRequest("grant_type is required")
	case GrantClientCredentials:
		resp, oerr = p.grantClientCredentials(client, form, now)
	case GrantAuthorizationCode:
		resp, oerr = p.grantAuthorizationCode(client, form, now)
	case GrantRefreshToken:
		resp, oerr = p.grantRefreshToken(client, form, now)
	case GrantPassword:
		resp, oerr = p.grantPassword(client, form, now)
	case DeviceCodeGrantURN:
		grantType = GrantDeviceCode
		resp, oerr = p.grantDeviceCode(client, form, now)
	default:
		oerr = newError(errUnsupportedGrantType, "grant_type "+truncate(grantType, 60)+" is not supported")
		if p.defect(client, dWrongErrorCode) {
			oerr.code = "unknown_grant"
		}
	}
	if oerr != nil {
		p.writeError(w, oerr, noStore)
		return
	}
	p.counters.countGrant(grantType)
	writeTokenResponse(w, resp, noStore)
}

// readTokenForm reads the token request: POST with a form body. The
// token_get_allowed defect also takes GET and parameters in the query.
func (p *Provider) readTokenForm(r *http.Request, hint string) (url.Values, *oauthError) {
	if !p.defectFor(hint, dTokenGetAllowed) {
		if r.Method != http.MethodPost {
			return nil, &oauthError{code: errInvalidRequest, description: "method not allowed; use POST", status: http.StatusMethodNotAllowed}
		}
		return p.readForm(r)
	}
	query := r.URL.Query()
	form := url.Values{}
	if r.Method == http.MethodPost {
		stripped := *r
		u := *r.URL
		u.RawQuery = ""
		stripped.URL = &u
		var oerr *oauthError
		if form, oerr = p.readForm(&stripped); oerr != nil {
			return nil, oerr
		}
	}
	for k, v := range query {
		if _, inBody := form[k]; !inBody {
			form[k] = v[:1]
		}
	}
	return form, nil
}

// issueOrFail turns an issuance failure (a signing error) into server_error.
func (p *Provider) issueOrFail(req issueRequest, now time.Time) (tokenResponse, *oauthError) {
	resp, err := p.issueTokens(req, now)
	if err != nil {
		p.log.Error("token issuance failed", "err", err)
		return tokenResponse{}, &oauthError{code: errServerError, description: "could not issue tokens", status: http.StatusInternalServerError}
	}
	return resp, nil
}

// grantClientCredentials is RFC 6749 4.4: confidential clients only, no
// refresh token (4.4.3).
func (p *Provider) grantClientCredentials(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantClientCredentials) {
		return tokenResponse{}, unauthorizedClient("this client may not use client_credentials")
	}
	scopes, oerr := p.resolveTokenScope(client, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	req := issueRequest{client: client, accessScopes: p.scopeSetOf(scopes)}
	if p.defect(client, dCCRefreshToken) {
		req.grant = &grant{clientID: client.ID, subject: client.ID, scopes: scopes}
		req.refresh, req.refreshScope = true, joinScopes(scopes)
	}
	return p.issueOrFail(req, now)
}

// grantAuthorizationCode is RFC 6749 4.1.3 with PKCE (RFC 7636 4.6). A code
// is consumed by its first redemption; a second one revokes everything the
// first issued (RFC 6749 4.1.2).
func (p *Provider) grantAuthorizationCode(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantAuthorizationCode) {
		return tokenResponse{}, unauthorizedClient("this client may not use authorization_code")
	}
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, invalidRequest("code is required")
	}
	reuse := p.defect(client, dCodeReuse)
	p.store.mu.Lock()
	rec, ok := p.store.codes.get(keyOf(code))
	wasUsed := ok && rec.used && !reuse
	if wasUsed {
		rec.grant.revoked = true
	}
	if ok && !p.defect(client, dCodeRace) {
		rec.used = true // checked and set under one lock: one winner per code
	}
	p.store.mu.Unlock()
	if ok && p.defect(client, dCodeRace) {
		p.markUsedLate(&rec.used)
	}
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the authorization code is invalid")
	case wasUsed:
		p.log.Warn("authorization code reused; tokens of its first exchange revoked", "client_id", client.ID)
		return tokenResponse{}, invalidGrant("the authorization code was already used")
	case !now.Before(rec.exp):
		return tokenResponse{}, invalidGrant("the authorization code has expired")
	case rec.grant.clientID != client.ID && !p.defect(client, dCodeNotBoundToClient):
		return tokenResponse{}, invalidGrant("the authorization code was issued to another client")
	case form.Get("redirect_uri") != rec.redirectURI && !p.defect(client, dTokenRedirectURIUnchecked):
		return tokenResponse{}, invalidGrant("redirect_uri does not match the authorization request")
	}
	if oerr := p.checkPKCE(client, rec, form); oerr != nil {
		return tokenResponse{}, oerr
	}
	g := rec.grant
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        g,
		accessScopes: p.scopeSetOf(g.scopes),
		refresh:      p.allows(client, GrantRefreshToken),
		refreshScope: joinScopes(g.scopes),
		idToken:      slices.Contains(g.scopes, "openid"),
		code:         code,
	}, now)
}

// raceWindow is how long the code_race and refresh_race defects leave
// between checking a code or token and marking it used.
const raceWindow = 250 * time.Millisecond

// markUsedLate is the code_race and refresh_race defects: the code or token was
// checked under the lock, and is marked used only a moment later, so parallel
// requests all pass the check.
func (p *Provider) markUsedLate(used *bool) {
	time.Sleep(raceWindow)
	p.store.mu.Lock()
	*used = true
	p.store.mu.Unlock()
}

// checkPKCE verifies the code_verifier against the code's challenge
// (RFC 7636 4.6), and refuses a verifier for a code issued without one
// (RFC 9700 2.1.1: a downgrade attempt).
func (p *Provider) checkPKCE(client *Client, rec *codeRecord, form url.Values) *oauthError {
	verifier, hasVerifier := form["code_verifier"]
	if rec.challenge == "" {
		if hasVerifier && !p.defect(client, dPKCEDowngrade) {
			return invalidGrant("code_verifier sent but the authorization request had no code_challenge")
		}
		return nil
	}
	if !hasVerifier {
		if p.defect(client, dPKCEVerifierOptional) {
			return nil
		}
		return invalidGrant("code_verifier is required")
	}
	if p.defect(client, dPKCEUnchecked) {
		return nil
	}
	if rec.challengeMethod == "plain" { // only under the pkce_plain_allowed defect
		if !secretEqual(rec.challenge, verifier[0]) {
			return invalidGrant("code_verifier does not match the code_challenge")
		}
		return nil
	}
	validLength := validVerifier(verifier[0]) || p.defect(client, dPKCEPlainAllowed)
	if !validLength || !s256Matches(verifier[0], rec.challenge) {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

// validVerifier checks RFC 7636 4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// grantRefreshToken is RFC 6749 6 with rotation: every use returns a new
// refresh token, and replaying a rotated one revokes the whole family
// (RFC 9700 4.14.2). The scope may narrow, never widen.
func (p *Provider) grantRefreshToken(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantRefreshToken) {
		return tokenResponse{}, unauthorizedClient("this client may not use refresh_token")
	}
	token := form.Get("refresh_token")
	if token == "" {
		return tokenResponse{}, invalidRequest("refresh_token is required")
	}
	requested, validScope := parseScope(form.Get("scope"))
	rotate := !p.defect(client, dNoRefreshRotation)
	race := p.defect(client, dRefreshRace)
	p.store.mu.Lock()
	rec, ok := p.store.refresh.get(keyOf(token))
	bound := ok && (rec.grant.clientID == client.ID || p.defect(client, dRefreshNotBound))
	var replay, usable, widened bool
	var granted []string
	if bound {
		replay = rec.used
		if replay && !p.defect(client, dNoReuseDetection) {
			rec.grant.revoked = true
		}
		granted, _ = parseScope(rec.scope)
		widened = !validScope || !subsetOf(requested, granted)
		if widened && validScope && p.defect(client, dRefreshScopeWidened) {
			widened = !subsetOf(requested, client.Scopes)
		}
		usable = rec.active(now)
		if usable && !widened && rotate && !race {
			rec.used = true // consumed here, under the lock: one winner per token
		}
	}
	p.store.mu.Unlock()
	if bound && usable && !widened && rotate && race {
		p.markUsedLate(&rec.used)
	}
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the refresh token is invalid")
	case !bound:
		return tokenResponse{}, invalidGrant("the refresh token was issued to another client")
	case replay:
		p.log.Warn("rotated refresh token replayed; token family revoked", "client_id", client.ID)
		return tokenResponse{}, invalidGrant("the refresh token was already used; its token family is revoked")
	case !usable:
		return tokenResponse{}, invalidGrant("the refresh token is expired or revoked")
	case widened:
		// Refused before consuming: a bad scope request does not cost the
		// client its refresh token.
		return tokenResponse{}, invalidScope("the requested scope exceeds the scope originally granted")
	}
	scopes := granted
	if len(requested) > 0 {
		scopes = requested
	}
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        rec.grant,
		accessScopes: p.scopeSetOf(scopes),
		refresh:      rotate,
		refreshScope: rec.scope,
		idToken:      rec.grant.user != nil && slices.Contains(scopes, "openid"),
	}, now)
}

// grantPassword is RFC 6749 4.3, only for clients configured for it.
func (p *Provider) grantPassword(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantPassword) {
		return tokenResponse{}, unauthorizedClient("this client may not use the password grant")
	}
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return tokenResponse{}, invalidRequest("username and password are required")
	}
	user := p.checkPassword(username, password)
	if user == nil {
		return tokenResponse{}, invalidGrant("the username or password is wrong")
	}
	scopes, oerr := p.resolveTokenScope(client, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	g := &grant{clientID: client.ID, user: user, subject: user.Subject, scopes: scopes, authTime: now}
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        g,
		accessScopes: p.scopeSetOf(scopes),
		refresh:      p.allows(client, GrantRefreshToken),
		refreshScope: joinScopes(scopes),
		idToken:      slices.Contains(scopes, "openid"),
	}, now)
}

// checkPassword returns the user when the password is right. The compare is
// constant-time whether or not the user exists.
func (p *Provider) checkPassword(username, password string) *User {
	u := p.users[username]
	want := "\x00no such user"
	if u != nil {
		want = u.Password
	}
	if !secretEqual(want, password) || u == nil {
		return nil
	}
	return u
}

// grantDeviceCode is RFC 8628 3.4 and 3.5: the client polls until the user
// decides, no faster than the interval.
func (p *Provider) grantDeviceCode(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantDeviceCode) {
		return tokenResponse{}, unauthorizedClient("this client may not use the device grant")
	}
	code := form.Get("device_code")
	if code == "" {
		return tokenResponse{}, invalidRequest("device_code is required")
	}
	p.store.mu.Lock()
	rec, ok := p.store.devices.get(keyOf(code))
	var status int
	var tooFast bool
	if ok && rec.clientID == client.ID && now.Before(rec.exp) {
		status = rec.status
		// RFC 8628 3.5: polling faster than the interval earns slow_down and
		// an interval 5 seconds longer for this and later requests.
		if status == devicePending && !rec.lastPoll.IsZero() && now.Sub(rec.lastPoll) < rec.interval &&
			!p.defect(client, dNoSlowDown) {
			tooFast = true
			rec.interval += 5 * time.Second
		}
		rec.lastPoll = now
		if status == deviceApproved && !p.defect(client, dDeviceCodeReuse) {
			rec.status = deviceIssued
		}
	}
	p.store.mu.Unlock()
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the device code is invalid")
	case rec.clientID != client.ID:
		return tokenResponse{}, invalidGrant("the device code was issued to another client")
	case !now.Before(rec.exp):
		return tokenResponse{}, newError(errExpiredToken, "the device code has expired")
	case tooFast:
		return tokenResponse{}, newError(errSlowDown, "polling too fast; the interval is now longer")
	case status == devicePending && p.defect(client, dDevicePendingWrong):
		return tokenResponse{}, newError(errSlowDown, "the user has not decided yet")
	case status == devicePending:
		return tokenResponse{}, newError(errAuthorizationPending, "the user has not decided yet")
	case status == deviceDenied:
		return tokenResponse{}, newError(errAccessDenied, "the user denied the request")
	case status == deviceIssued:
		return tokenResponse{}, invalidGrant("the device code was already used")
	}
	g := &grant{clientID: client.ID, user: rec.user, subject: rec.user.Subject, scopes: rec.scopes, authTime: rec.authTime}
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        g,
		accessScopes: p.scopeSetOf(rec.scopes),
		refresh:      p.allows(client, GrantRefreshToken),
		refreshScope: joinScopes(rec.scopes),
		idToken:      slices.Contains(rec.scopes, "openid"),
	}, now)
}
