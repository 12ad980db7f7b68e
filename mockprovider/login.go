package mockprovider

import (
	"crypto/hmac"
	"mime"
	"net/http"
	"net/url"

	"github.com/grantbench/grantbench/oauth"
)

// readPageForm reads a page's form post and checks its CSRF token.
func (p *Provider) readPageForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.renderError(w, r, oauth.InvalidRequest, "this form takes POST")
		return nil, false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		p.renderError(w, r, oauth.InvalidRequest, "the form must be application/x-www-form-urlencoded")
		return nil, false
	}
	form, oerr := readFormBody(r, p.cfg.Limits.MaxBodyBytes)
	if oerr != nil {
		p.renderError(w, r, oerr.code, oerr.description)
		return nil, false
	}
	if !p.checkCSRF(r, form.Get("csrf_token")) {
		p.renderError(w, r, oauth.InvalidRequest, "the form's CSRF token is missing or wrong; reload the page")
		return nil, false
	}
	return form, true
}

// renderLogin shows the login page of interaction id for client, with
// errorText ("" for none) above the form.
func (p *Provider) renderLogin(w http.ResponseWriter, r *http.Request, id string, client *Client, errorText string) {
	p.renderPage(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Interaction: id,
		ClientName: clientName(client), Error: errorText, client: client, AnyUser: p.cfg.Login == LoginAnyUser})
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
			p.renderError(w, r, oauth.InvalidRequest, "this sign-in has expired; start again from the application")
			return
		}
		if p.cfg.Behaviour.LoginApp && in.kind == interactionAuthorize && !p.hasLoginAppCookie(r, id) {
			p.renderError(w, r, oauth.InvalidRequest, "this sign-in page is bound to the browser that started it; start again from the application")
			return
		}
		p.renderLogin(w, r, id, in.client, "")
		return
	}
	form, ok := p.readPageForm(w, r)
	if !ok {
		return
	}
	id := form.Get("interaction")
	in := p.loadInteraction(id, now)
	if in == nil {
		p.renderError(w, r, oauth.InvalidRequest, "this sign-in has expired; start again from the application")
		return
	}
	username, password := form.Get("username"), form.Get("password")
	if p.cfg.Behaviour.CustomPages {
		username, password = form.Get(customLoginUser), form.Get(customLoginPassword)
	}
	user := p.checkPassword(username, password)
	if user == nil && p.cfg.Login == LoginAnyUser && p.users[username] == nil {
		var err error
		if user, err = adHocUser(username, form.Get("claims")); err != nil {
			p.renderLogin(w, r, id, in.client, err.Error())
			return
		}
		p.log.Info("login as a user not configured (login: any_user)", "username", truncate(username, 64))
	}
	if user == nil {
		p.log.Info("login failed", "username", truncate(username, 64))
		p.renderLogin(w, r, id, in.client, "Wrong username or password.")
		return
	}
	p.startSession(w, user, now)
	setPageHeaders(w.Header(), p.defect(in.client, dFrameableLogin))
	status := http.StatusSeeOther // RFC 9700 4.12: never 307, which would repost the password
	if p.defect(in.client, dRedirect307) {
		status = http.StatusTemporaryRedirect
	}
	http.Redirect(w, r, p.basePath+"/consent?interaction="+url.QueryEscape(id), status)
}

// loginAppCookie binds the login page of the login_app behaviour to the
// browser the authorization endpoint redirected.
const loginAppCookie = "gb_login_app"

// redirectToLoginApp answers the authorization request with a redirect to
// the login page, as providers with a separate login application do. The
// redirect itself carries no framing headers: only the page does.
func (p *Provider) redirectToLoginApp(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(loginAppCookie), Value: p.csrfFor("login-app:" + id), Path: p.cookiePath("/login"),
		HttpOnly: true, Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.basePath+"/login?interaction="+url.QueryEscape(id), http.StatusSeeOther)
}

func (p *Provider) hasLoginAppCookie(r *http.Request, id string) bool {
	c, err := r.Cookie(p.cookieName(loginAppCookie))
	return err == nil && hmac.Equal([]byte(c.Value), []byte(p.csrfFor("login-app:"+id)))
}
