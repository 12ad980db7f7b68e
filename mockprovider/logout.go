package mockprovider

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the client
// sends the browser to the end_session_endpoint, the provider ends its
// login session and sends the browser back to a registered
// post_logout_redirect_uri with the client's state.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// idTokenHint is what logout reads from an id_token_hint.
type idTokenHint struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
	AZP      string          `json:"azp"`
}

// handleEndSession is the end_session_endpoint (RP-Initiated Logout 2): GET
// with a query or POST with a form. The ID token hint may have expired (2:
// the OP "SHOULD accept ID Tokens when the RP identified by the ID Token's
// aud claim ... had a recent session"), but it must be the provider's own.
// Without a registered post_logout_redirect_uri the browser stays on a
// logged-out page; a URI that is not registered for the client, or given
// without a way to tell the client, is never redirected to (3).
func (p *Provider) handleEndSession(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
		if name, dup := repeatedParam(params); dup {
			p.renderError(w, r, oauth.InvalidRequest, "parameter "+name+" is repeated")
			return
		}
	case http.MethodPost:
		var oerr *oauthError
		if params, oerr = p.readForm(r); oerr != nil {
			p.renderError(w, r, oerr.code, oerr.description)
			return
		}
	default:
		p.methodNotAllowed(w, "GET, POST")
		return
	}
	now := p.now()
	clientID := params.Get("client_id")
	if raw := params.Get("id_token_hint"); raw != "" {
		hint, ok := p.readIDTokenHint(raw, now)
		if !ok {
			p.renderError(w, r, oauth.InvalidRequest, "id_token_hint is not an ID token this provider issued")
			return
		}
		hinted := hint.client()
		if clientID != "" && !hint.names(clientID) {
			p.renderError(w, r, oauth.InvalidRequest, "client_id is not the audience of id_token_hint")
			return
		}
		if clientID == "" {
			clientID = hinted
		}
	}
	client := p.client(clientID)
	if clientID != "" && client == nil {
		p.renderError(w, r, oauth.InvalidRequest, "unknown client")
		return
	}
	target := params.Get("post_logout_redirect_uri")
	if target != "" {
		if client == nil {
			p.renderError(w, r, oauth.InvalidRequest, "post_logout_redirect_uri needs id_token_hint or client_id to tell the client")
			return
		}
		if !slices.Contains(client.PostLogoutRedirectURIs, target) {
			p.renderError(w, r, oauth.InvalidRequest, "post_logout_redirect_uri is not registered for this client")
			return
		}
	}
	p.endSession(w, r)
	if target == "" {
		p.renderPage(w, r, http.StatusOK, "logged-out", pageData{Title: "Logged out", client: client})
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		p.renderError(w, r, oauth.InvalidRequest, "post_logout_redirect_uri is not a URI")
		return
	}
	if state := params.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	setPageHeaders(w.Header(), false)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// readIDTokenHint verifies an id_token_hint: signed by the provider, its
// issuer; its exp is not checked (see handleEndSession).
func (p *Provider) readIDTokenHint(raw string, now time.Time) (idTokenHint, bool) {
	payload, ok := p.ownJWT(raw, now)
	if !ok {
		return idTokenHint{}, false
	}
	var h idTokenHint
	if json.Unmarshal(payload, &h) != nil || h.Issuer != p.issuer {
		return idTokenHint{}, false
	}
	return h, true
}

// audiences are the hint's aud values (a string or an array).
func (h idTokenHint) audiences() []string {
	var one string
	if json.Unmarshal(h.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(h.Audience, &many)
	return many
}

// client is the client the hint was issued to: azp, else the single aud.
func (h idTokenHint) client() string {
	if h.AZP != "" {
		return h.AZP
	}
	if aud := h.audiences(); len(aud) == 1 {
		return aud[0]
	}
	return ""
}

func (h idTokenHint) names(clientID string) bool {
	return h.AZP == clientID || slices.Contains(h.audiences(), clientID)
}

// endSession forgets the browser's login session and clears its cookie, so
// the next authorization request asks for a login again.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(p.cookieName(sessionCookie)); err == nil && c.Value != "" {
		p.store.mu.Lock()
		p.store.sessions.remove(keyOf(c.Value))
		p.store.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(sessionCookie), Value: "", Path: p.cookiePath("/"), HttpOnly: true,
		Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
