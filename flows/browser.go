package flows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/grantbench/grantbench/trace"
)

// chromeNames are the executables FindChrome looks for on PATH, in order.
var chromeNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell", "chrome"}

// FindChrome returns the path of a Chrome or Chromium executable: $CHROME_PATH
// when set, else the first of the usual names on PATH. Without one it returns a
// [*ChromeMissingError] whose message says how to install it.
func FindChrome() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if found, err := exec.LookPath(p); err == nil {
			return found, nil
		}
		return "", &ChromeMissingError{Searched: []string{p}}
	}
	for _, name := range chromeNames {
		if found, err := exec.LookPath(name); err == nil {
			return found, nil
		}
	}
	return "", &ChromeMissingError{Searched: chromeNames}
}

// BrowserOptions configure [NewBrowser].
type BrowserOptions struct {
	// OutDir receives a PNG screenshot of every failed page step ("" keeps none).
	OutDir string
	// ExecPath is the browser executable ("" finds one with FindChrome).
	ExecPath string
	// MaxTabs bounds the tabs open at once (default 4); flows beyond it wait.
	MaxTabs int
	// IgnoreCertErrors lets pages with untrusted certificates load (a
	// self-signed local provider; see Target.TLS).
	IgnoreCertErrors bool
	// Shareable starts the browser with a DevTools port on 127.0.0.1 (and
	// talks to it over a websocket rather than a pipe), so that other
	// processes can connect to it through [Browser.DevToolsURL].
	Shareable bool
	// RemoteURL, when set, is the DevTools address of a Chromium that runs
	// already (ws://HOST:PORT/devtools/browser/ID, or http://HOST:PORT to look
	// it up): the flows open their tabs there, in a browser context of their
	// own so that no cookies cross from other users of that browser, and Close
	// leaves it running. ExecPath and IgnoreCertErrors do not apply.
	RemoteURL string
}

// Browser is one headless Chromium for the whole process; each flow gets its own
// tab, at most MaxTabs at once. Tabs share the browser's cookies, so a second
// flow finds the user already logged in, as a real user would, unless the flow
// asks for a fresh browser session. Safe for concurrent use.
type Browser struct {
	ctx         context.Context // has run once: tabs derive from it
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	tabs        chan struct{}    // a slot per open tab, idle or busy
	idle        chan *browserTab // open tabs of the shared session between flows
	outDir      string
	userDataDir string
	closeOnce   sync.Once
}

// NewBrowser starts Chromium headless with a fresh profile, or connects to
// opts.RemoteURL. The browser lives until Close, not until ctx ends: ctx only
// bounds the start.
func NewBrowser(ctx context.Context, opts BrowserOptions) (*Browser, error) {
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("flows: browser screenshots folder: %w", err)
		}
	}
	if opts.RemoteURL != "" {
		return connectBrowser(ctx, opts)
	}
	path := opts.ExecPath
	if path == "" {
		var err error
		if path, err = FindChrome(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "grantbench-chrome-")
	if err != nil {
		return nil, fmt.Errorf("flows: browser profile: %w", err)
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // we run as root in containers; the pages are test pages
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1024, 768),
	)
	if opts.IgnoreCertErrors {
		allocOpts = append(allocOpts, chromedp.IgnoreCertErrors)
	}
	if opts.Shareable {
		allocOpts = append(allocOpts, remote.WebSocket, chromedp.Flag("remote-debugging-address", "127.0.0.1"))
	}
	// The browser's life must not follow ctx (a caller's timeout would kill it
	// mid-run), so it hangs off a context only Close cancels.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), allocOpts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }() // the first Run starts the browser: no timeout on it
	b := &Browser{ctx: bctx, cancel: cancel, allocCancel: allocCancel, tabs: make(chan struct{}, maxTabs(opts)), idle: make(chan *browserTab, maxTabs(opts)), outDir: opts.OutDir, userDataDir: dir}
	if err := waitStarted(ctx, started); err != nil {
		b.Close()
		return nil, fmt.Errorf("flows: starting %s: %w", path, err)
	}
	return b, nil
}

// connectBrowser attaches to the Chromium at opts.RemoteURL, in a new browser
// context that Close disposes of (closing its tabs, not the browser).
func connectBrowser(ctx context.Context, opts BrowserOptions) (*Browser, error) {
	allocCtx, allocCancel := remote.NewAllocator(context.WithoutCancel(ctx), opts.RemoteURL)
	bctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithNewBrowserContext())
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	b := &Browser{ctx: bctx, cancel: cancel, allocCancel: allocCancel, tabs: make(chan struct{}, maxTabs(opts)), idle: make(chan *browserTab, maxTabs(opts)), outDir: opts.OutDir}
	if err := waitStarted(ctx, started); err != nil {
		b.Close()
		return nil, fmt.Errorf("flows: connecting to the browser at %s: %w", opts.RemoteURL, err)
	}
	return b, nil
}

func maxTabs(opts BrowserOptions) int {
	if opts.MaxTabs <= 0 {
		return 4
	}
	return opts.MaxTabs
}

// waitStarted waits for the browser's first run, or for ctx.
func waitStarted(ctx context.Context, started <-chan error) error {
	select {
	case err := <-started:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DevToolsURL is the DevTools websocket address of a browser NewBrowser
// started with Shareable, for other processes to share it through
// BrowserOptions.RemoteURL; "" for any other browser.
func (b *Browser) DevToolsURL() string {
	if b.userDataDir == "" {
		return ""
	}
	// Chromium started with --remote-debugging-port=0 writes the port it took
	// and the browser's path there.
	data, err := os.ReadFile(filepath.Join(b.userDataDir, "DevToolsActivePort"))
	if err != nil {
		return ""
	}
	port, path, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if !ok || port == "" || !strings.HasPrefix(path, "/devtools/browser/") {
		return ""
	}
	return "ws://127.0.0.1:" + port + path
}

// Close stops the browser and removes its profile, or for a connected browser
// closes this process's tabs and browser context. Safe to call twice.
func (b *Browser) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.cancel()
		b.allocCancel()
		if b.userDataDir != "" {
			err = os.RemoveAll(b.userDataDir)
		}
	})
	return err
}

// pageStep is one timed page step of a browser flow.
type pageStep struct {
	b    *Browser
	r    *run
	tab  context.Context
	ctx  context.Context // the caller's: cancelling it stops waits
	name string
	at   time.Time
	// status is the HTTP status of the step's page load, when known.
	status int
	// mark tells the documents this flow has acted on (see waitPageJS).
	mark string
}

// actionCtx bounds one action by the page timeout and by the caller's context.
func (p *pageStep) actionCtx() (context.Context, context.CancelFunc) {
	actx, cancel := context.WithTimeout(p.tab, p.r.t.pageTimeout())
	stop := context.AfterFunc(p.ctx, cancel)
	return actx, func() { stop(); cancel() }
}

// fail records the failed step, takes a screenshot and returns a BrowserError.
func (p *pageStep) fail(err error) error {
	p.end(trace.Step{Err: err.Error()})
	be := &BrowserError{Step: p.name, Err: err}
	sctx, cancel := context.WithTimeout(p.tab, 5*time.Second)
	defer cancel()
	if loc, lerr := chromedp.Run(sctx, chromedp.Location()); lerr == nil {
		be.URL = loc
	}
	if p.b.outDir != "" {
		if png, serr := chromedp.Run(sctx, chromedp.CaptureScreenshot()); serr == nil {
			// CreateTemp keeps names unique across browsers and runs sharing OutDir.
			if f, ferr := os.CreateTemp(p.b.outDir, fmt.Sprintf("%s-%s-*.png", p.r.res.Flow, p.name)); ferr == nil {
				_, werr := f.Write(png)
				if cerr := f.Close(); werr == nil && cerr == nil {
					be.Screenshot = f.Name()
					p.r.res.Screenshots = append(p.r.res.Screenshots, f.Name())
				}
			}
		}
	}
	return be
}

// next closes the current step and starts the one named.
func (p *pageStep) next(name string) {
	p.end(trace.Step{})
	p.name, p.at = name, time.Now()
}

// end records the current step, completed with the fields of s.
func (p *pageStep) end(s trace.Step) {
	s.Name, s.Start, s.End = p.name, p.at, time.Now()
	if s.Status == 0 {
		s.Status = p.status
	}
	p.status = 0
	p.r.rec.AddStep(s)
}

// pageState is which known element a page shows.
type pageState int

const (
	stateCallback pageState = iota
	stateError
	stateLogin
	stateConsent
	stateDeviceCode
	stateDeviceDone
	stateDeviceDenied
)

// seenAttr marks a document the flow has acted on, so the wait after a click
// matches only the next document, never the one still on screen. Browser
// flows write their tokens in it (waitPageJS); AppTab only tests for it.
const seenAttr = "data-grantbench-seen"

// waitState waits until a new document shows one of the selectors (a visible
// element) and returns which. The wait runs in the page (waitPageJS), not
// over DevTools; it never sleeps. A close of done (the callback listener's:
// the authorization response has arrived) ends it with stateCallback, without
// waiting for the browser to render the callback page.
func (p *pageStep) waitState(sels map[pageState]string, done <-chan struct{}) (pageState, error) {
	order := []pageState{stateCallback, stateError, stateLogin, stateConsent, stateDeviceCode, stateDeviceDone, stateDeviceDenied}
	var present []pageState
	var list []string
	for _, st := range order {
		s, ok := sels[st]
		if !ok || s == "" {
			continue
		}
		present = append(present, st)
		list = append(list, s)
	}
	actx, cancel := p.actionCtx()
	defer cancel()
	if p.mark == "" {
		p.mark = randomToken(6)
	}
	idx, err := waitPage(actx, list, p.mark, done)
	if err != nil {
		return 0, fmt.Errorf("waiting for a known page (%s): %w", joinSelectors(list), err)
	}
	if idx < 0 {
		return stateCallback, nil
	}
	return present[idx], nil
}

// open navigates to the first page. An HTTP error answer ends the step at
// once: the error page names its code (browser.error, #error on the bundled
// mock); any other error page would otherwise be waited on until the page
// timeout. A close of callback (nil for none) during the navigation means the
// provider sent the browser straight to the client, with an error or with a
// code for a session that needed no page: the callback listener's 204 then
// aborts the navigation, and that is no failure.
func (p *pageStep) open(u string, callback <-chan struct{}) error {
	actx, cancel := p.actionCtx()
	defer cancel()
	resp, err := navigate(actx, u)
	if err != nil {
		if callback != nil && isClosed(callback) {
			return nil
		}
		return p.fail(err)
	}
	if resp == nil {
		return nil
	}
	status := int(resp.Status)
	p.status = status
	if status < 400 {
		return nil
	}
	found, _ := chromedp.Run(actx, hasElement(p.r.t.Browser.withDefaults().Error))
	if found {
		return p.errorPage(status)
	}
	return p.fail(fmt.Errorf("the provider answered HTTP %d", status))
}

// errorPage ends the step on the provider's error page (status 0: unknown).
func (p *pageStep) errorPage(status int) error {
	sel := p.r.t.Browser.withDefaults()
	code := p.text(sel.Error)
	p.end(trace.Step{OAuthError: code})
	return &OAuthError{Step: p.name, Status: status, Code: code, Description: p.text(sel.ErrorDescription), ErrorPage: true}
}

func (p *pageStep) do(actions ...chromedp.Action[chromedp.Void]) error {
	actx, cancel := p.actionCtx()
	defer cancel()
	return chromedp.Do(actx, actions...)
}

// text is the rendered text of the first element matching sel, "" when there
// is none.
func (p *pageStep) text(sel string) string {
	actx, cancel := p.actionCtx()
	defer cancel()
	s, _ := chromedp.Run(actx, elementText(sel))
	return strings.TrimSpace(s)
}

// fill sets a field's value, replacing what is there; chromedp dispatches the
// input and change events, so script-driven forms see it too.
func fill(sel, value string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.CSS(sel), value)}
}

// login fills the login form and submits it; a second login page in one flow
// means the credentials were refused.
func (p *pageStep) login(tried *bool) error {
	sel := p.r.t.Browser.withDefaults().Login
	if *tried {
		msg := "login refused"
		if t := p.text("#login-error"); t != "" {
			msg += ": " + t
		}
		return p.fail(errors.New(msg))
	}
	*tried = true
	p.next("login")
	fields := [][2]string{{sel.Username, p.r.t.User.Username}, {sel.Password, p.r.t.User.Password}}
	if err := p.do(submitForm(fields, sel.Submit)); err != nil {
		return p.fail(err)
	}
	return nil
}

func (p *pageStep) consent(deny bool) error {
	p.next("consent")
	button := p.r.t.Browser.withDefaults().Consent.Approve
	if deny {
		button = p.r.t.Browser.withDefaults().Consent.Deny
	}
	if err := p.do(submitForm(nil, button)); err != nil {
		return p.fail(err)
	}
	return nil
}

// authorize opens the authorization URL in a tab and drives login and consent
// until the provider redirects to the callback listener.
func (b *Browser) authorize(ctx context.Context, r *run, authURL string, l *CallbackListener, deny, fresh bool) (cb *CallbackResponse, err error) {
	tab, err := b.tab(ctx, fresh)
	if err != nil {
		return nil, &BrowserError{Step: "authorize", Err: err}
	}
	defer func() { b.release(tab, tabReusable(err)) }()
	p := &pageStep{b: b, r: r, tab: tab.ctx, ctx: ctx, name: "authorize", at: time.Now()}
	if err := p.open(authURL, l.Done()); err != nil {
		return nil, err
	}
	sel := r.t.Browser.withDefaults()
	states := map[pageState]string{
		stateCallback: "#" + callbackDoneID, stateError: sel.Error,
		stateLogin: sel.Login.Username, stateConsent: sel.Consent.Approve,
	}
	loginTried := false
	for hop := 0; hop < maxPageHops; hop++ {
		st, err := p.waitState(states, l.Done())
		if err != nil {
			if cb, ok := l.Received(); ok { // the response came although no page showed it
				p.end(trace.Step{})
				return cb, nil
			}
			return nil, p.fail(err)
		}
		switch st {
		case stateCallback:
			p.end(trace.Step{})
			wctx, cancel := context.WithTimeout(ctx, r.t.pageTimeout())
			defer cancel()
			cb, err := l.Wait(wctx)
			if err != nil {
				return nil, &BrowserError{Step: p.name, Err: err}
			}
			return cb, nil
		case stateError:
			return nil, p.errorPage(0)
		case stateLogin:
			if err := p.login(&loginTried); err != nil {
				return nil, err
			}
		case stateConsent:
			if err := p.consent(deny); err != nil {
				return nil, err
			}
		}
	}
	return nil, p.fail(fmt.Errorf("no redirect to the client after %d pages", maxPageHops))
}

// tabReusable says whether a flow that ended with err left its tab on a page
// whose state is known (the callback, or a provider's error page), so that
// the next flow may take it over.
func tabReusable(err error) bool {
	var oe *OAuthError
	return err == nil || errors.As(err, &oe)
}

// verifyDevice opens the verification URI in a tab and plays the user: enter
// the code, log in, approve or deny, until the done element shows.
func (b *Browser) verifyDevice(ctx context.Context, r *run, start, userCode string, deny, fresh bool) (err error) {
	tab, err := b.tab(ctx, fresh)
	if err != nil {
		return &BrowserError{Step: "device_verify", Err: err}
	}
	defer func() { b.release(tab, tabReusable(err)) }()
	p := &pageStep{b: b, r: r, tab: tab.ctx, ctx: ctx, name: "device_verify", at: time.Now()}
	if err := p.open(start, nil); err != nil {
		return err
	}
	sel := r.t.Browser.withDefaults()
	states := map[pageState]string{
		stateError: sel.Error, stateLogin: sel.Login.Username, stateConsent: sel.Consent.Approve,
		stateDeviceCode: sel.Device.UserCode, stateDeviceDone: sel.Done, stateDeviceDenied: sel.Device.Denied,
	}
	loginTried, codeEntered := false, false
	for hop := 0; hop < maxPageHops; hop++ {
		st, err := p.waitState(states, nil)
		if err != nil {
			return p.fail(err)
		}
		switch st {
		case stateDeviceDone:
			p.end(trace.Step{})
			return nil
		case stateDeviceDenied:
			if !deny {
				return p.fail(errors.New("the provider showed its device-denied page (browser.device.denied) although the user approved"))
			}
			p.end(trace.Step{})
			return nil
		case stateError:
			return p.errorPage(0)
		case stateDeviceCode:
			if codeEntered {
				msg := "user code refused"
				if t := p.text("#device-error"); t != "" {
					msg += ": " + t
				}
				return p.fail(errors.New(msg))
			}
			codeEntered = true
			if err := p.do(submitForm([][2]string{{sel.Device.UserCode, userCode}}, sel.Device.Submit)); err != nil {
				return p.fail(err)
			}
		case stateLogin:
			if err := p.login(&loginTried); err != nil {
				return err
			}
		case stateConsent:
			if err := p.consent(deny); err != nil {
				return err
			}
		}
	}
	return p.fail(fmt.Errorf("verification not finished after %d pages", maxPageHops))
}
