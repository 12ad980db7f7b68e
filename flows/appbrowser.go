package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// AppTab is a browser tab in a fresh browser context (no cookies) for
// driving a client application's login through a provider's pages: the
// `grantbench rp` checks, where the application, not grantbench, is the
// OAuth client. Close releases it.
type AppTab struct {
	b       *Browser
	ctx     context.Context
	release func()
}

// NewAppTab opens a tab in a browser context of its own.
func (b *Browser) NewAppTab(ctx context.Context) (*AppTab, error) {
	tab, err := b.tabFor(ctx, true, false)
	if err != nil {
		return nil, &BrowserError{Step: "open tab", Err: err}
	}
	return &AppTab{b: b, ctx: tab.ctx, release: func() { b.release(tab, false) }}, nil
}

// Close closes the tab and its browser context.
func (t *AppTab) Close() { t.release() }

// Reset makes the tab a new user's: it leaves the current page for
// about:blank and drops every cookie of its browser context (the app's
// session and the provider's), which is what a fresh browser context gives,
// without the second or so a new one costs Chromium.
func (t *AppTab) Reset(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	if err := chromedp.Do(rctx, chromedp.Navigate("about:blank")); err != nil {
		return err
	}
	_, err := chromedp.Call(rctx, network.ClearBrowserCookies, cdp.Empty{})
	return err
}

// AppPage is what a tab shows once a step ended.
type AppPage struct {
	URL    string
	Status int // the HTTP status of the document (0 when unknown)
	Text   string
}

// AppLogin configures [AppTab.Login].
type AppLogin struct {
	// Start is the application URL that starts the login.
	Start string
	// Provider is the provider's origin: its pages (login, consent) are
	// answered, any other page ends the flow.
	Provider *url.URL
	User     User
	// Selectors of the provider's pages ("" fields: the bundled mock's).
	Selectors Selectors
	// Timeout bounds the whole login (default 15 s): an app that hangs longer
	// ends it with a timeout error.
	Timeout time.Duration
}

// pageInfo is one look at the current document.
type pageInfo struct {
	Seen    bool   `json:"seen"`
	URL     string `json:"url"`
	Ready   string `json:"ready"`
	Status  int    `json:"status"`
	Login   bool   `json:"login"`
	Consent bool   `json:"consent"`
	Text    string `json:"text"`
}

// ErrAppTimeout means the application did not finish a page in time.
var ErrAppTimeout = errors.New("the application did not answer in time")

// Login opens opts.Start and plays the user through the provider's login and
// consent pages until a page outside the provider has loaded, which it returns
// (the flow's end, whatever the app showed). A provider error page ends the
// flow too (its URL is then the provider's).
func (t *AppTab) Login(ctx context.Context, opts AppLogin) (*AppPage, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	lctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	sel := opts.Selectors.withDefaults()
	// Navigate waits for the first document's load; the app's redirects to
	// the provider are followed by the browser itself.
	if err := chromedp.Do(lctx, chromedp.Navigate(opts.Start)); err != nil {
		return t.pageOnError(err, lctx)
	}
	loginTried := false
	for hop := 0; hop < maxPageHops; hop++ {
		info, err := t.settle(lctx, sel)
		if err != nil {
			return t.pageOnError(err, lctx)
		}
		u, _ := url.Parse(info.URL)
		onProvider := u != nil && opts.Provider != nil && u.Host == opts.Provider.Host
		switch {
		case onProvider && info.Login && !loginTried:
			loginTried = true
			steps := append(fill(sel.Login.Username, opts.User.Username), fill(sel.Login.Password, opts.User.Password)...)
			if err := chromedp.Do(lctx, append(steps, markSeen(), chromedp.Click(chromedp.CSS(sel.Login.Submit)))...); err != nil {
				return t.pageOnError(err, lctx)
			}
		case onProvider && info.Consent:
			if err := chromedp.Do(lctx, markSeen(), chromedp.Click(chromedp.CSS(sel.Consent.Approve))); err != nil {
				return t.pageOnError(err, lctx)
			}
		default:
			return &AppPage{URL: info.URL, Status: info.Status, Text: info.Text}, nil
		}
	}
	return nil, fmt.Errorf("flows: no end of the login after %d pages", maxPageHops)
}

func markSeen() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.documentElement.setAttribute(%q,"1")`, seenAttr))
}

// pageOnError turns a timeout into ErrAppTimeout, with the page as it is.
func (t *AppTab) pageOnError(err error, lctx context.Context) (*AppPage, error) {
	if lctx.Err() != nil {
		return nil, fmt.Errorf("%w: %v", ErrAppTimeout, err)
	}
	return nil, err
}

// settle waits until a new document (not one the driver acted on) has loaded,
// and reads it. It polls the browser: the app's pages are unknown, so there is
// no element to wait for.
func (t *AppTab) settle(ctx context.Context, sel Selectors) (pageInfo, error) {
	js := fmt.Sprintf(`(function(){var d=document.documentElement;if(!d||d.hasAttribute(%q))return {seen:true};
var n=performance.getEntriesByType("navigation")[0];
return {url:location.href,ready:document.readyState,status:n&&n.responseStatus||0,
login:!!document.querySelector(%q),consent:!!document.querySelector(%q),
text:document.body?document.body.innerText.slice(0,4000):""}})()`, seenAttr, sel.Login.Username, sel.Consent.Approve)
	for {
		info, err := chromedp.Run(ctx, chromedp.Evaluate[pageInfo](js))
		if err == nil && !info.Seen && info.Ready == "complete" {
			return info, nil
		}
		select {
		case <-ctx.Done():
			return pageInfo{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Open loads u in the tab (with its cookies) and returns the page.
func (t *AppTab) Open(ctx context.Context, u string, timeout time.Duration) (*AppPage, error) {
	octx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	if err := chromedp.Do(octx, chromedp.Navigate(u)); err != nil {
		return t.pageOnError(err, octx)
	}
	info, err := t.settle(octx, DefaultSelectors())
	if err != nil {
		return t.pageOnError(err, octx)
	}
	return &AppPage{URL: info.URL, Status: info.Status, Text: info.Text}, nil
}

// Has reports whether the current page has an element matching the CSS
// selector.
func (t *AppTab) Has(selector string) (bool, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	q, _ := json.Marshal(selector)
	return chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%s)`, q)))
}

// Cookies returns the cookies the tab's browser context holds for u.
func (t *AppTab) Cookies(u string) ([]*network.Cookie, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	return res.Cookies, err
}

// Screenshot returns a PNG of the tab's page.
func (t *AppTab) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// HTTPLoginToCallback plays a user without a browser: it starts at start
// with client (give it a cookie jar; redirects are followed here, not by the
// client), answers t's provider pages with t.User, and stops at the first
// redirect to redirectURI, returning that URL without loading it. The rp
// checks use it to get a code issued to another session (login CSRF).
func HTTPLoginToCallback(ctx context.Context, t *Target, client *http.Client, start, redirectURI string) (*url.URL, error) {
	redirect, err := url.Parse(redirectURI)
	if err != nil {
		return nil, fmt.Errorf("flows: redirect URI: %w", err)
	}
	hc := *client
	hc.CheckRedirect = noRedirects
	d := &pageDriver{t: t, client: &hc, rec: NewRecorder(RecordTrace)}
	req, err := newGet(start)
	if err != nil {
		return nil, err
	}
	out, err := d.drive(ctx, req, "attacker_login", redirect)
	if err != nil {
		return nil, err
	}
	if out.callback == nil {
		return nil, errors.New("flows: the login ended on a page, not at the redirect URI")
	}
	cb := *redirect
	cb.RawQuery = out.callback.Params.Encode()
	return &cb, nil
}
