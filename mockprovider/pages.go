package mockprovider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/grantbench/grantbench/oauth"
)

// The pages carry the stable element ids of docs/mockprovider.md: browsers
// (chromedp) and plain form posts in tests both rely on them.
var pageTemplates = template.Must(template.New("layout").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · grantbench mock provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label,input,textarea,button{display:block;margin:.4rem 0}input,textarea{width:100%;padding:.4rem}button{padding:.5rem 1rem}
.error{color:#b00020}.row{display:flex;gap:1rem}</style></head><body>
<h1>{{.Title}}</h1>{{end}}
{{define "login"}}{{template "head" .}}
{{if .ClientName}}<p>Sign in to continue to <strong>{{.ClientName}}</strong>.</p>{{end}}
{{if .Error}}<p id="login-error" class="error">{{.Error}}</p>{{end}}
<form id="login-form" method="post" action="{{.Base}}/login">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="interaction" value="{{.Interaction}}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" autofocus required>
{{if .AnyUser}}<p id="any-user-hint">Any username signs in; a configured user needs its password.</p>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<label for="claims">Claims (JSON, optional)</label><textarea id="claims" name="claims" rows="4" placeholder='{"roles": ["admin"]}'></textarea>
{{else}}<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
{{end}}<button id="login-submit" type="submit">Sign in</button>
</form></body></html>{{end}}
{{define "consent"}}{{template "head" .}}
<p><strong>{{.ClientName}}</strong> asks for access{{if .Username}} as <strong>{{.Username}}</strong>{{end}}:</p>
<ul id="scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form id="consent-form" method="post" action="{{.Base}}/consent">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="interaction" value="{{.Interaction}}">
<div class="row"><button id="approve" name="decision" value="approve" type="submit">Approve</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button></div>
</form></body></html>{{end}}
{{define "device"}}{{template "head" .}}
<p>Enter the code shown on your device.</p>
{{if .Error}}<p id="device-error" class="error">{{.Error}}</p>{{end}}
<form id="device-form" method="post" action="{{.Base}}/device">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="user-code">Code</label><input id="user-code" name="user_code" value="{{.UserCode}}" autocomplete="off" autofocus required>
<button id="device-submit" type="submit">Continue</button>
</form></body></html>{{end}}
{{define "device-done"}}{{template "head" .}}
<p id="device-done">{{.Result}}</p><p>You can return to your device.</p></body></html>{{end}}
{{define "device-denied"}}{{template "head" .}}
<p id="device-denied">The request was denied.</p><p>You can return to your device.</p></body></html>{{end}}
{{define "custom-login"}}{{template "head" .}}
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form class="signin" method="post" action="{{.Base}}/login">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="interaction" value="{{.Interaction}}">
<label>Email or user name <input name="login" autocomplete="username" required></label>
<label>Secret <input id="signin-secret" name="secret" type="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Continue</button>
</form></body></html>{{end}}
{{define "custom-consent"}}{{template "head" .}}
<p>{{.ClientName}} would like to use your account{{if .Username}} ({{.Username}}){{end}}.</p>
<form class="grant" method="post" action="{{.Base}}/consent">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="interaction" value="{{.Interaction}}">
<input type="hidden" name="login" value="{{.Username}}">
<div class="row"><button type="submit" name="action" value="reject">Reject</button>
<button type="submit" name="action" value="allow">Allow</button></div>
</form></body></html>{{end}}
{{define "custom-error"}}{{template "head" .}}
<div class="oauth-error"><p>Something went wrong: <span class="code">{{.Error}}</span></p>{{if .Description}}<p class="detail">{{.Description}}</p>{{end}}</div>
</body></html>{{end}}
{{define "logged-out"}}{{template "head" .}}
<p id="logged-out">You are logged out.</p></body></html>{{end}}
{{define "error"}}{{template "head" .}}
<p>The request cannot continue.</p>
<p><code id="error">{{.Error}}</code></p>{{if .Description}}<p id="error-description">{{.Description}}</p>{{end}}
</body></html>{{end}}
`))

type pageData struct {
	Title       string
	CSRF        string
	Interaction string
	ClientName  string
	Username    string
	Scopes      []string
	UserCode    string
	Result      string
	Error       string
	Description string
	// AnyUser shows the login page of login: any_user (claims field,
	// password optional).
	AnyUser bool
	// Base is the issuer's base path ("" or "/tenant") the forms post under.
	Base string
	// client, when known, selects per-client defects (frameable_login).
	client *Client
}

const (
	csrfCookie    = "gb_csrf"
	sessionCookie = "gb_session"
)

// setPageHeaders keeps pages out of frames (RFC 9700 4.16), out of caches
// and from leaking the URL (which may hold a user code) in Referer.
// frameable is the frameable_login defect.
func setPageHeaders(h http.Header, frameable bool) {
	if frameable {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
	} else {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// renderPage writes one of the templates. The CSRF token is filled in here:
// an HMAC of a per-browser cookie, set now when the browser has none.
func (p *Provider) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	data.Base = p.basePath
	if name != "error" && name != "device-done" && name != "device-denied" && name != "logged-out" {
		data.CSRF = p.csrfToken(w, r)
	}
	if p.cfg.Behaviour.CustomPages && (name == "login" || name == "consent" || name == "error") {
		name = "custom-" + name
	}
	var buf strings.Builder
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("page render failed", "page", name, "err", err)
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header(), p.defect(data.client, dFrameableLogin))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// renderError shows the error page: used whenever redirecting would be
// unsafe (unknown client, missing or unregistered redirect_uri) or a page
// flow cannot go on. Never a redirect.
func (p *Provider) renderError(w http.ResponseWriter, r *http.Request, code oauth.ErrorCode, description string) {
	p.counters.countError(code)
	p.renderPage(w, r, p.cfg.Behaviour.errorPageStatus(), "error", pageData{Title: "Error", Error: code.String(), Description: description})
}

func (p *Provider) csrfToken(w http.ResponseWriter, r *http.Request) string {
	browser := ""
	if c, err := r.Cookie(p.cookieName(csrfCookie)); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		browser = c.Value
	} else {
		browser = newSecret()
		http.SetCookie(w, &http.Cookie{Name: p.cookieName(csrfCookie), Value: browser, Path: p.cookiePath("/"), HttpOnly: true,
			Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode})
	}
	return p.csrfFor(browser)
}

func (p *Provider) csrfFor(browser string) string {
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte(browser))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// checkCSRF verifies a posted csrf_token against the browser's cookie.
func (p *Provider) checkCSRF(r *http.Request, posted string) bool {
	c, err := r.Cookie(p.cookieName(csrfCookie))
	if err != nil || c.Value == "" || posted == "" {
		return false
	}
	return hmac.Equal([]byte(p.csrfFor(c.Value)), []byte(posted))
}

func (p *Provider) secureCookies() bool { return strings.HasPrefix(p.issuer, "https://") }
