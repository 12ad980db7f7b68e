package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Session is a login session for browserless (ConsentHTTP) flows: a cookie jar.
// Reusing one across flows makes the provider skip the login page, as a browser
// with a session cookie would. Safe for concurrent use.
type Session struct{ jar http.CookieJar }

// NewSession returns an empty login session.
func NewSession() *Session {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Session{jar: jar}
}

// maxPageHops bounds how many requests one browserless login may take.
const maxPageHops = 12

// htmlPage is what the browserless driver reads of a provider page.
type htmlPage struct {
	url    *url.URL
	status int
	doc    *html.Node
	forms  []htmlForm
	// texts maps element ids to their text content.
	texts map[string]string
}

type htmlForm struct {
	node               *html.Node
	id, action, method string
	inputs             []htmlInput
	buttons            []htmlInput
}

type htmlInput struct {
	node                 *html.Node
	id, name, typ, value string
}

func (f *htmlForm) hasPassword() bool {
	for _, in := range f.inputs {
		if in.typ == "password" {
			return true
		}
	}
	return false
}

func (f *htmlForm) hasButtonNamed(name string) bool {
	for _, b := range f.buttons {
		if b.name == name {
			return true
		}
	}
	return false
}

// hasField reports whether a field a user can fill (not a hidden input)
// matches the selector.
func (f *htmlForm) hasField(selector string) bool {
	m := compileSelector(selector)
	if m == nil {
		return false
	}
	for _, in := range f.inputs {
		if in.typ != "hidden" && m.Match(in.node) {
			return true
		}
	}
	return false
}

// hasButton reports whether a button of the form matches the selector.
func (f *htmlForm) hasButton(selector string) bool {
	m := compileSelector(selector)
	if m == nil {
		return false
	}
	for _, b := range f.buttons {
		if m.Match(b.node) {
			return true
		}
	}
	return false
}

// values returns the form's fields as a browser would submit them, with the
// named overrides and the clicked button.
func (f *htmlForm) values(set map[string]string, clicked *htmlInput) url.Values {
	v := url.Values{}
	for _, in := range f.inputs {
		if in.name == "" || in.typ == "submit" || in.typ == "button" {
			continue
		}
		v.Set(in.name, in.value)
	}
	for k, val := range set {
		v.Set(k, val)
	}
	if clicked != nil && clicked.name != "" {
		v.Set(clicked.name, clicked.value)
	}
	return v
}

// compileSelector compiles a profile's CSS selector with cascadia, the
// selector engine of Go's HTML tooling; nil when it cannot (a selector only
// a browser understands never matches a form-post page).
func compileSelector(selector string) cascadia.Sel {
	if selector == "" {
		return nil
	}
	m, err := cascadia.Parse(selector)
	if err != nil {
		return nil
	}
	return m
}

// first returns the first element of the page that matches the selector.
func (p *htmlPage) first(selector string) *html.Node {
	m := compileSelector(selector)
	if m == nil || p.doc == nil {
		return nil
	}
	return cascadia.Query(p.doc, m)
}

// text returns the trimmed text of the first element matching selector, and
// whether there is one.
func (p *htmlPage) text(selector string) (string, bool) {
	n := p.first(selector)
	if n == nil {
		return "", false
	}
	return strings.TrimSpace(textOf(n)), true
}

// parsePage reads the forms and the id'd elements of an HTML page.
func parsePage(u *url.URL, status int, body []byte) (*htmlPage, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	p := &htmlPage{url: u, status: status, doc: doc, texts: map[string]string{}}
	var form *htmlForm
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			if id := attrs["id"]; id != "" {
				p.texts[id] = strings.TrimSpace(textOf(n))
			}
			switch n.Data {
			case "form":
				p.forms = append(p.forms, htmlForm{node: n, id: attrs["id"], action: attrs["action"], method: strings.ToUpper(attrs["method"])})
				form = &p.forms[len(p.forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				form = nil
				return
			case "input":
				if form != nil {
					in := htmlInput{node: n, id: attrs["id"], name: attrs["name"], typ: strings.ToLower(attrs["type"]), value: attrs["value"]}
					if in.typ == "submit" {
						form.buttons = append(form.buttons, in)
					} else {
						form.inputs = append(form.inputs, in)
					}
				}
			case "button":
				// A button submits unless its type says otherwise (HTML's
				// default type is submit).
				if typ := strings.ToLower(attrs["type"]); form != nil && typ != "button" && typ != "reset" {
					form.buttons = append(form.buttons, htmlInput{node: n, id: attrs["id"], name: attrs["name"], typ: "submit", value: attrs["value"]})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p, nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// PageKind is what a provider page is, as the HTTP form driver recognises it.
type PageKind string

// The pages the driver recognises.
const (
	PageLogin        PageKind = "login"
	PageConsent      PageKind = "consent"
	PageDeviceCode   PageKind = "device code"
	PageDeviceDone   PageKind = "device done"
	PageDeviceDenied PageKind = "device denied"
	PageError        PageKind = "error"
	// PageUnknown is a page with none of the profile's elements.
	PageUnknown PageKind = ""
)

// ClassifyPage says what an HTML page of the provider is, by the profile's
// selectors (browser:) as the HTTP form driver reads them: for checks that
// judge a page (B5 judges the login page's headers).
func (t *Target) ClassifyPage(body []byte) PageKind {
	page, err := parsePage(&url.URL{}, 0, body)
	if err != nil {
		return PageUnknown
	}
	sel := t.Browser.withDefaults()
	if _, ok := page.text(sel.Error); ok {
		return PageError
	}
	if sel.Device.Denied != "" && page.first(sel.Device.Denied) != nil {
		return PageDeviceDenied
	}
	if page.first(sel.Done) != nil {
		return PageDeviceDone
	}
	for i := range page.forms {
		if kind := formKind(&page.forms[i], sel); kind != PageUnknown {
			return kind
		}
	}
	return PageUnknown
}

// formKind recognises a form: a login form by the profile's login fields (or
// a password field), a consent form by its approve or deny button (or a
// button named "decision", as on pages built like the bundled mock's), a
// device form by its user code field. Hidden inputs never count: a consent
// page may carry the username in one.
func formKind(f *htmlForm, sel Selectors) PageKind {
	switch {
	case f.hasButton(sel.Consent.Approve) || f.hasButton(sel.Consent.Deny) || f.id == "consent-form" || f.hasButtonNamed("decision"):
		return PageConsent
	case f.hasField(sel.Device.UserCode) || f.id == "device-form":
		return PageDeviceCode
	case f.hasField(sel.Login.Password) || f.hasField(sel.Login.Username) || f.id == "login-form" || f.hasPassword():
		return PageLogin
	}
	return PageUnknown
}

// SecretRegistry learns the secrets the flows type, so that what is logged or
// written hides them: a *redact.Redactor is one.
type SecretRegistry interface {
	// AddField registers a form field whose value is a secret, and the value.
	AddField(name, value string)
}

// RegisterSecretsWith tells r the name and value of every password field the
// HTTP form driver fills (inputs of type password and the one the profile's
// browser.login.password selects), before the request that carries them is
// sent and so before anything can log it. A provider may call its password
// input anything and a test user's password may be three characters long:
// neither the redactor's built-in field names nor its by-value matching (four
// bytes and up) would hide it in the recorded login request. Every command
// that logs or writes evidence registers its redactor.
func (t *Target) RegisterSecretsWith(r SecretRegistry) {
	if r == nil {
		return
	}
	t.secretsMu.Lock()
	t.secretRegistries = append(t.secretRegistries, r)
	t.secretsMu.Unlock()
}

// Secrets are the secrets of the profile (the user's password, client
// secrets, the admin and endpoint tokens), for a redactor to hide by value
// wherever they appear.
func (t *Target) Secrets() []string {
	secrets := []string{t.User.Password, t.AdminToken()}
	for _, name := range []string{"introspection", "revocation", "userinfo", "device_authorization"} {
		if _, token := t.EndpointAuthOf(name); token != "" {
			secrets = append(secrets, token)
		}
	}
	for _, c := range []*Client{t.Clients.Confidential, t.Clients.Public, t.Clients.Device, t.Clients.Legacy, t.Clients.Other, t.Clients.Service, t.Clients.FAPI} {
		if c != nil {
			secrets = append(secrets, c.ClientSecret)
		}
	}
	return secrets
}

// typedSecret tells the registries a password field's name and value.
func (t *Target) typedSecret(name, value string) {
	t.secretsMu.Lock()
	registries := slices.Clone(t.secretRegistries)
	t.secretsMu.Unlock()
	for _, r := range registries {
		r.AddField(name, value)
	}
}

// passwordFields are the names of the fields of a login form that hold a
// password: the profile's password selector's, and every input of type
// password (a second one, such as a PIN, counts too).
func passwordFields(f *htmlForm, sel Selectors) []string {
	names := []string{fieldName(f, sel.Login.Password, "password")}
	for _, in := range f.inputs {
		if in.typ == "password" && in.name != "" && !slices.Contains(names, in.name) {
			names = append(names, in.name)
		}
	}
	return names
}

// pageDriver drives a provider's pages by posting their forms: the ConsentHTTP
// mode. It recognises the pages of docs/mockprovider.md (and pages built alike:
// a form with a password field, a form with a "decision" button).
type pageDriver struct {
	t      *Target
	client *http.Client
	rec    *Recorder
	// deny answers the consent page with Deny.
	deny bool
	// userCode is entered on a device verification page.
	userCode string
}

// pageOutcome is where a browserless interaction ended.
type pageOutcome struct {
	// callback is the authorization response, when the provider redirected to
	// the redirect URI.
	callback *CallbackResponse
	// final is the last page, when the interaction ended on a page (device done).
	final *htmlPage
	// denied: final is the provider's device-denied page.
	denied bool
}

// drive sends req and follows redirects and forms until the provider redirects
// to redirect (nil: never expected) or shows a page the driver cannot go past.
func (d *pageDriver) drive(ctx context.Context, req *http.Request, step string, redirect *url.URL) (*pageOutcome, error) {
	loginTried := false
	for hop := 0; hop < maxPageHops; hop++ {
		req = req.WithContext(WithStep(WithRecorder(ctx, d.rec), step))
		resp, err := d.client.Do(req)
		if err != nil {
			if terr := d.rec.takeTransportErr(); terr != nil {
				return nil, &TransportError{Step: step, Err: terr}
			}
			return nil, &TransportError{Step: step, Err: err}
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, &TransportError{Step: step, Err: err}
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil || resp.Header.Get("Location") == "" {
				return nil, &ResponseError{Step: step, Status: resp.StatusCode, Reason: "redirect without a usable Location"}
			}
			if redirect != nil && matchesRedirect(loc, redirect) {
				cb := responseFromLocation(loc)
				return &pageOutcome{callback: &cb}, nil
			}
			if loc.Scheme != "http" && loc.Scheme != "https" {
				return nil, &ResponseError{Step: step, Status: resp.StatusCode, Reason: "redirect to a non-HTTP URL " + redactURL(loc.String())}
			}
			req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
			continue
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if code := oauthErrorCode(resp, body); code != "" && resp.StatusCode >= 400 {
			// Some providers answer a bad authorization request with a JSON
			// error rather than a page; it is still not a redirect.
			var e struct {
				Description string `json:"error_description"`
			}
			json.Unmarshal(body, &e)
			return nil, &OAuthError{Step: step, Status: resp.StatusCode, Code: code, Description: e.Description, ErrorPage: true}
		}
		if mt != "text/html" {
			return nil, &ResponseError{Step: step, Status: resp.StatusCode, Reason: fmt.Sprintf("expected a page, got %q", mt)}
		}
		page, err := parsePage(req.URL, resp.StatusCode, body)
		if err != nil {
			return nil, &ResponseError{Step: step, Status: resp.StatusCode, Reason: "unparsable page", Err: err}
		}
		sel := d.t.Browser.withDefaults()
		if code, ok := page.text(sel.Error); ok {
			desc, _ := page.text(sel.ErrorDescription)
			return nil, &OAuthError{Step: step, Status: resp.StatusCode, Code: code, Description: desc, ErrorPage: true}
		}
		if sel.Device.Denied != "" && page.first(sel.Device.Denied) != nil {
			if !d.deny {
				return nil, &ResponseError{Step: step, Status: resp.StatusCode, Reason: "the provider showed its device-denied page (browser.device.denied) although the user approved"}
			}
			return &pageOutcome{final: page, denied: true}, nil
		}
		if page.first(sel.Done) != nil {
			return &pageOutcome{final: page}, nil
		}
		next, nextStep, err := d.answer(page, &loginTried)
		if err != nil {
			if re, ok := err.(*ResponseError); ok {
				re.Step, re.Status = step, resp.StatusCode
			}
			return nil, err
		}
		req, step = next, nextStep
	}
	return nil, &ResponseError{Step: step, Reason: fmt.Sprintf("no redirect to the client after %d requests", maxPageHops)}
}

// answer fills the page's form: login, consent or device code.
func (d *pageDriver) answer(page *htmlPage, loginTried *bool) (*http.Request, string, error) {
	sel := d.t.Browser.withDefaults()
	for i := range page.forms {
		f := &page.forms[i]
		switch formKind(f, sel) {
		case PageLogin:
			if *loginTried {
				reason := "login refused"
				if msg := page.texts["login-error"]; msg != "" {
					reason += ": " + msg
				}
				return nil, "", &ResponseError{Reason: reason}
			}
			*loginTried = true
			set := map[string]string{
				fieldName(f, sel.Login.Username, "username"): d.t.User.Username,
				fieldName(f, sel.Login.Password, "password"): d.t.User.Password,
			}
			clicked := buttonFor(f, sel.Login.Submit, "")
			vals := f.values(set, clicked)
			for _, name := range passwordFields(f, sel) {
				d.t.typedSecret(name, vals.Get(name))
			}
			req, err := submit(page, f, set, clicked)
			return req, "login", err
		case PageConsent:
			want, value := sel.Consent.Approve, "approve"
			if d.deny {
				want, value = sel.Consent.Deny, "deny"
			}
			b := buttonFor(f, want, value)
			if b == nil {
				return nil, "", &ResponseError{Reason: fmt.Sprintf("consent page without a %s button (browser.consent.%s: %q)", value, value, want)}
			}
			req, err := submit(page, f, nil, b)
			return req, "consent", err
		case PageDeviceCode:
			if d.userCode == "" {
				return nil, "", &ResponseError{Reason: "device verification page but no user code to enter"}
			}
			set := map[string]string{fieldName(f, sel.Device.UserCode, "user_code"): d.userCode}
			req, err := submit(page, f, set, buttonFor(f, sel.Device.Submit, ""))
			return req, "device_verify", err
		}
	}
	return nil, "", &ResponseError{Reason: "unrecognised page (no form matching the profile's browser.login, browser.consent or browser.device selectors, and no browser.error element)"}
}

// fieldName finds the name of the (visible) input a selector points at,
// falling back to the conventional name.
func fieldName(f *htmlForm, selector, fallback string) string {
	if m := compileSelector(selector); m != nil {
		for _, in := range f.inputs {
			if in.typ != "hidden" && in.name != "" && m.Match(in.node) {
				return in.name
			}
		}
	}
	return fallback
}

// buttonFor finds the button a selector points at, else the one with value,
// else (with no value asked for) the form's first button.
func buttonFor(f *htmlForm, selector, value string) *htmlInput {
	if m := compileSelector(selector); m != nil {
		for i := range f.buttons {
			if m.Match(f.buttons[i].node) {
				return &f.buttons[i]
			}
		}
	}
	for i := range f.buttons {
		if value != "" && f.buttons[i].value == value {
			return &f.buttons[i]
		}
	}
	if value == "" && len(f.buttons) > 0 {
		return &f.buttons[0]
	}
	return nil
}

func submit(page *htmlPage, f *htmlForm, set map[string]string, clicked *htmlInput) (*http.Request, error) {
	action, err := page.url.Parse(f.action)
	if err != nil {
		return nil, &ResponseError{Reason: "form action is not a URL", Err: err}
	}
	vals := f.values(set, clicked)
	if f.method == http.MethodGet {
		action.RawQuery = vals.Encode()
		return http.NewRequest(http.MethodGet, action.String(), nil)
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func newGet(u string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, &ResponseError{Step: "authorize", Reason: "bad URL", Err: err}
	}
	return req, nil
}
