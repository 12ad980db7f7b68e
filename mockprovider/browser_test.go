package mockprovider

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser plays the user agent with plain HTTP: a cookie jar, no automatic
// redirects, and form posts built from the pages' hidden fields.
type browser struct {
	t *testing.T
	f *fixture
	c *http.Client
}

func newBrowser(t *testing.T, f *fixture) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	resp *http.Response
	body string
}

func (p page) has(id string) bool { return strings.Contains(p.body, `id="`+id+`"`) }

var hiddenField = regexp.MustCompile(`name="(csrf_token|interaction)" value="([^"]*)"`)

// fields returns the page's hidden form fields.
func (p page) fields() url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], m[2])
	}
	return v
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		b.t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	return page{resp: resp, body: string(body)}
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.f.url(rawURL)
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.f.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit posts the page's form with its hidden fields plus extra.
func (b *browser) submit(p page, path string, extra url.Values) page {
	b.t.Helper()
	form := p.fields()
	for k, v := range extra {
		form[k] = v
	}
	return b.post(path, form)
}

func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("want 303, got %d: %s", p.resp.StatusCode, p.body)
	}
	return b.get(p.resp.Header.Get("Location"))
}

// login fills the login page in and follows the 303 to the consent page.
func (b *browser) login(p page, username, password string) page {
	b.t.Helper()
	if !p.has("login-form") {
		b.t.Fatalf("not the login page: %d %s", p.resp.StatusCode, p.body)
	}
	next := b.submit(p, "/login", url.Values{"username": {username}, "password": {password}})
	if next.resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login answered %d, want 303: %s", next.resp.StatusCode, next.body)
	}
	return b.follow(next)
}

// authorize runs an authorization request through login (when the page asks)
// and consent with decision, and returns where the provider sent the browser.
func (b *browser) authorize(authURL, decision string) *url.URL {
	b.t.Helper()
	p := b.get(authURL)
	if p.resp.StatusCode == http.StatusSeeOther {
		return b.location(p)
	}
	if p.has("login-form") {
		p = b.login(p, "alice", "wonderland")
	}
	if !p.has("consent-form") {
		b.t.Fatalf("not the consent page: %d %s", p.resp.StatusCode, p.body)
	}
	return b.location(b.submit(p, "/consent", url.Values{"decision": {decision}}))
}

func (b *browser) location(p page) *url.URL {
	b.t.Helper()
	if p.resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("want a 303 redirect, got %d: %s", p.resp.StatusCode, p.body)
	}
	u, err := url.Parse(p.resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}
