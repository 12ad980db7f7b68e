package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The page scripts below replace chromedp's element queries on the hot path
// of a browser flow. chromedp's WaitVisible polls every 5 ms over DevTools,
// each try a DOM.querySelectorAll, DOM.getBoxModel and a Runtime call per
// node, and Click and SetValue are a query, a box model and mouse or script
// calls each: with 8 tabs that kept both cores busy with DevTools traffic
// (2.5 flows/s). A script waits inside the page instead, where a check is a
// querySelectorAll on a small document, and answers once; a form is filled
// and submitted in one call.

// waitPageJS waits until the document, unless marked seen by this flow, has
// finished parsing and shows a visible element matching one of the selectors
// (in order), marks the document seen by this flow and resolves with the
// selector's index. In a document this flow marked already (the one its last
// action left, still on screen until the next commits) it resolves with -2
// after a while, for the caller to look again; the next document usually
// destroys it first, which fails the evaluation and sends the caller to look
// again too.
//
// The mark is the flow's own token, added to a list: in a reused tab the
// previous flow's last evaluation can still be on its way and run in this
// flow's first document; it then adds its token, which does not make the
// document seen for this flow (with one shared mark it did, and the flow
// waited on its first page until the timeout).
//
// Visible means rendered (checkVisibility, or a layout box): profiles list
// elements that pages also carry hidden, and a hidden one must not decide
// which page this is.
const waitPageJS = `(function(sels, seen, mark){
function marked(){ var d = document.documentElement; return !!d && (" " + (d.getAttribute(seen) || "") + " ").indexOf(" " + mark + " ") >= 0 }
if (marked()) return new Promise(function(r){ setTimeout(function(){ r(-2) }, 100) });
function visible(e){ return e.checkVisibility ? e.checkVisibility({visibilityProperty: true}) : e.getClientRects().length > 0 }
function match(){
  if (document.readyState === "loading" || !document.documentElement) return -1;
  for (var i = 0; i < sels.length; i++) {
    var all = document.querySelectorAll(sels[i]);
    for (var j = 0; j < all.length; j++) if (visible(all[j])) return i;
  }
  return -1;
}
return new Promise(function(resolve){
  var timer, observer;
  function check(){
    var i = match();
    if (i < 0) return;
    clearInterval(timer); observer.disconnect(); document.removeEventListener("readystatechange", check);
    var d = document.documentElement;
    d.setAttribute(seen, ((d.getAttribute(seen) || "") + " " + mark).trim());
    resolve(i);
  }
  observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, attributes: true});
  document.addEventListener("readystatechange", check);
  timer = setInterval(check, 10);
  check();
});
})(%s, %q, %q)`

// waitPage runs waitPageJS in the tab until it names a selector, ctx ends,
// or done (if not nil) is closed; then it returns -1 and no error. mark is
// the flow's token (see waitPageJS).
func waitPage(ctx context.Context, sels []string, mark string, done <-chan struct{}) (int, error) {
	if done != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-done:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	list, _ := json.Marshal(sels)
	js := fmt.Sprintf(waitPageJS, list, seenAttr, mark)
	for {
		idx, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		if done != nil && isClosed(done) {
			return -1, nil
		}
		switch {
		case err == nil && idx >= 0 && idx < len(sels):
			return idx, nil
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case err != nil:
			var exc *chromedp.ExceptionError
			if errors.As(err, &exc) { // a selector the browser refuses: no retry helps
				return 0, err
			}
			// The document went away while the script waited (a navigation):
			// look at the next one, once it can run scripts.
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// submitFormJS types values into fields and clicks a button, in one call.
// Values go through the input's own value setter with input and change
// events, as typing does, so that script-driven forms (React's value
// tracking among them) see them; the click waits a little for a button that
// the page enables only once the fields are filled. Errors name selectors,
// never values: a password is one of them.
const submitFormJS = `(function(fields, button){
function find(sel){ var e = document.querySelector(sel); if (!e) throw new Error("no element matches " + sel); return e }
for (var i = 0; i < fields.length; i++) {
  var e = find(fields[i][0]);
  var setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(e), "value");
  e.focus();
  if (setter && setter.set) setter.set.call(e, fields[i][1]); else e.value = fields[i][1];
  e.dispatchEvent(new Event("input", {bubbles: true}));
  e.dispatchEvent(new Event("change", {bubbles: true}));
}
var b = find(button), start = Date.now();
return new Promise(function(resolve){
  (function click(){
    if (b.disabled && Date.now() - start < 2000) { setTimeout(click, 10); return }
    b.click();
    resolve(true);
  })();
});
})(%s, %s)`

// submitForm fills the fields (selector, value pairs) and clicks button.
func submitForm(fields [][2]string, button string) chromedp.Action[chromedp.Void] {
	if fields == nil {
		fields = [][2]string{}
	}
	f, _ := json.Marshal(fields)
	s, _ := json.Marshal(button)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(submitFormJS, f, s), chromedp.EvalAwaitPromise)
}

// textJS is the rendered text of the first element matching a selector, ""
// when none does (at once: an optional element, such as an error page's
// description, is not waited for).
const textJS = `(function(s){var e = document.querySelector(s); return e ? e.innerText : ""})(%s)`

func elementText(sel string) chromedp.Action[string] {
	s, _ := json.Marshal(sel)
	return chromedp.Evaluate[string](fmt.Sprintf(textJS, s))
}

// joinSelectors is for messages.
func joinSelectors(sels []string) string { return strings.Join(sels, ", ") }

// navigate loads u in the tab and returns once the browser has committed its
// document (which may still be parsing: waitPage waits for that), with the
// document's HTTP response, nil when none was seen.
//
// It does not use chromedp's Navigate, which takes the first document
// committed after it starts listening: in a reused tab that can be the
// previous flow's callback page, still arriving when that flow ended, and the
// wait then ends before this navigation has begun. Here the document is the
// one of the loader Page.navigate names.
func navigate(ctx context.Context, u string) (*network.Response, error) {
	var (
		mu       sync.Mutex
		events   []any
		notified = make(chan struct{}, 1)
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := chromedp.Listen(lctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			if e.Type != network.ResourceTypeDocument {
				return
			}
		case *network.EventRequestWillBeSent:
			if e.Type != network.ResourceTypeDocument {
				return
			}
		case *network.EventLoadingFailed:
			if e.Type != network.ResourceTypeDocument {
				return
			}
		case *page.EventLifecycleEvent:
			if e.Name != "init" {
				return
			}
		default:
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		select {
		case notified <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, err
	}
	nav, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: u})
	if err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return nil, &chromedp.LoadError{ErrorText: nav.ErrorText}
	}
	if nav.LoaderID == "" { // a same-document navigation: nothing to wait for
		return nil, nil
	}
	var resp *network.Response
	requests := map[network.RequestID]bool{network.RequestID(nav.LoaderID): true}
	for next := 0; ; {
		mu.Lock()
		pending := events[next:]
		next = len(events)
		mu.Unlock()
		for _, ev := range pending {
			switch e := ev.(type) {
			case *network.EventRequestWillBeSent:
				if e.LoaderID == nav.LoaderID {
					requests[e.RequestID] = true
				}
			case *network.EventResponseReceived:
				if e.LoaderID == nav.LoaderID {
					resp = e.Response
				}
			case *network.EventLoadingFailed:
				if requests[e.RequestID] {
					return nil, &chromedp.LoadError{ErrorText: e.ErrorText}
				}
			case *page.EventLifecycleEvent:
				if e.LoaderID == nav.LoaderID {
					return resp, nil
				}
			}
		}
		select {
		case <-notified:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// parsedJS evaluates a boolean expression once the document has been parsed.
const parsedJS = `new Promise(function(r){ function f(){ r(!!(%s)) }
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", f); else f() })`

// hasElement reports whether the document, once parsed, has an element
// matching sel.
func hasElement(sel string) chromedp.Action[bool] {
	s, _ := json.Marshal(sel)
	return chromedp.Evaluate[bool](fmt.Sprintf(parsedJS, "document.querySelector("+string(s)+")"), chromedp.EvalAwaitPromise)
}
