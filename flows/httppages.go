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
	"strings"

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
	forms  []htmlForm
	// texts maps element ids to their text content.
	texts map[string]string
}

type htmlForm struct {
	id, action, method string
	inputs             []htmlInput
	buttons            []htmlInput
}

type htmlInput struct{ id, name, typ, value string }

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

// parsePage reads the forms and the id'd elements of an HTML page.
func parsePage(u *url.URL, status int, body []byte) (*htmlPage, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	p := &htmlPage{url: u, status: status, texts: map[string]string{}}
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
				p.forms = append(p.forms, htmlForm{id: attrs["id"], action: attrs["action"], method: strings.ToUpper(attrs["method"])})
				form = &p.forms[len(p.forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				form = nil
				return
			case "input":
				if form != nil {
					in := htmlInput{id: attrs["id"], name: attrs["name"], typ: strings.ToLower(attrs["type"]), value: attrs["value"]}
					if in.typ == "submit" {
						form.buttons = append(form.buttons, in)
					} else {
						form.inputs = append(form.inputs, in)
					}
				}
			case "button":
				if form != nil {
					form.buttons = append(form.buttons, htmlInput{id: attrs["id"], name: attrs["name"], typ: "submit", value: attrs["value"]})
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

// selectorID returns the id of a "#id" selector, "" for any other selector.
func selectorID(sel string) string {
	if strings.HasPrefix(sel, "#") && !strings.ContainsAny(sel[1:], " .#[>:,+~") {
		return sel[1:]
	}
	return ""
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
		if code, ok := page.texts["error"]; ok {
			return nil, &OAuthError{Step: step, Status: resp.StatusCode, Code: code, Description: page.texts["error-description"], ErrorPage: true}
		}
		if id := selectorID(d.t.Browser.withDefaults().Done); id != "" {
			if _, ok := page.texts[id]; ok {
				return &pageOutcome{final: page}, nil
			}
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
		switch {
		case f.id == "login-form" || f.hasPassword():
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
			req, err := submit(page, f, set, buttonFor(f, sel.Login.Submit, ""))
			return req, "login", err
		case f.id == "consent-form" || f.hasButtonNamed("decision"):
			want, value := sel.Consent.Approve, "approve"
			if d.deny {
				want, value = sel.Consent.Deny, "deny"
			}
			b := buttonFor(f, want, value)
			if b == nil {
				return nil, "", &ResponseError{Reason: "consent page without a " + value + " button"}
			}
			req, err := submit(page, f, nil, b)
			return req, "consent", err
		case f.id == "device-form":
			if d.userCode == "" {
				return nil, "", &ResponseError{Reason: "device verification page but no user code to enter"}
			}
			set := map[string]string{fieldName(f, sel.Device.UserCode, "user_code"): d.userCode}
			req, err := submit(page, f, set, buttonFor(f, sel.Device.Submit, ""))
			return req, "device_verify", err
		}
	}
	return nil, "", &ResponseError{Reason: "unrecognised page (no login, consent or device form)"}
}

// fieldName finds the name of the input a selector points at, falling back to
// the conventional name.
func fieldName(f *htmlForm, selector, fallback string) string {
	if id := selectorID(selector); id != "" {
		for _, in := range f.inputs {
			if in.id == id && in.name != "" {
				return in.name
			}
		}
	}
	return fallback
}

// buttonFor finds the button a selector points at, else the one with value.
func buttonFor(f *htmlForm, selector, value string) *htmlInput {
	id := selectorID(selector)
	for i := range f.buttons {
		if id != "" && f.buttons[i].id == id {
			return &f.buttons[i]
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
