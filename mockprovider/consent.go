package mockprovider

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

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
			p.renderError(w, r, oauth.InvalidRequest, "this request has expired; start again from the application")
			return
		}
		session := p.session(r, now)
		if session == nil {
			p.renderLogin(w, r, id, in.client, "")
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
	if p.cfg.Behaviour.CustomPages {
		decision = map[string]string{customApprove: "approve", customDeny: "deny"}[form.Get(customConsentField)]
	}
	if decision != "approve" && decision != "deny" {
		p.renderError(w, r, oauth.InvalidRequest, "decision must be approve or deny")
		return
	}
	id := form.Get("interaction")
	session := p.session(r, now)
	if session == nil {
		in := p.loadInteraction(id, now)
		if in == nil {
			p.renderError(w, r, oauth.InvalidRequest, "this request has expired; start again from the application")
			return
		}
		p.renderLogin(w, r, id, in.client, "")
		return
	}
	in := p.takeInteraction(id, now)
	if in == nil {
		p.renderError(w, r, oauth.InvalidRequest, "this request has expired or was already decided")
		return
	}
	if in.kind == interactionDevice {
		p.decideDevice(w, r, in, session, decision == "approve", now)
		return
	}
	if decision == "deny" && !p.defect(in.client, dDenyIgnored) {
		p.redirectError(w, r, in.redirect, oauth.AccessDenied, "the user denied the request")
		return
	}
	p.store.mu.Lock()
	session.consented[in.client.ID] = mergeScopes(session.consented[in.client.ID], in.scopes)
	p.store.mu.Unlock()
	p.completeAuthorization(w, r, in, session, now)
}

// completeAuthorization sends the successful authorization response: a code
// (RFC 6749 4.1.2) or, for implicit clients, an access token in the fragment
// and never a refresh token (4.2.2). Both carry state and iss (RFC 9207).
func (p *Provider) completeAuthorization(w http.ResponseWriter, r *http.Request, in *interaction, s *sessionRecord, now time.Time) {
	if e := in.deferredError; e != nil {
		p.redirectError(w, r, in.redirect, e.code, e.description)
		return
	}
	g := &grant{clientID: in.client.ID, user: s.user, subject: s.user.Subject, scopes: in.scopes,
		authTime: s.authTime, nonce: in.nonce}
	if in.responseType == oauth.ResponseTypeToken {
		resp, oerr := p.issueOrFail(issueRequest{client: in.client, grant: g, accessScopes: p.scopeSetOf(in.scopes),
			refresh: p.defect(in.client, dImplicitRefreshToken), refreshScope: joinScopes(in.scopes)}, now)
		if oerr != nil {
			p.redirectError(w, r, in.redirect, oerr.code, oerr.description)
			return
		}
		p.counters.countGrant(GrantImplicit)
		params := url.Values{
			"access_token": {resp.accessToken},
			"token_type":   {oauth.TokenTypeBearer},
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
