package flows

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"

	"github.com/chromedp/chromedp"
)

// browserTab is one open tab of a [Browser]. A tab of the browser's shared
// cookie jar (not fresh) goes back to the pool after a flow that ended well,
// so that the next flow skips what opening a tab costs: Target.createTarget,
// a new window, a renderer process and the dozen DevTools calls chromedp
// makes to attach (about 1.7 s per flow under load on two shared cores, more
// than the flow's pages took).
type browserTab struct {
	ctx    context.Context // has run once: actions on it run in the tab
	cancel context.CancelFunc
	fresh  bool
}

// tab returns a tab for one flow once a slot is free: an idle pooled tab when
// there is one (not for fresh, which needs a browser context of its own),
// else a new one. Every open tab, idle or busy, holds one of the MaxTabs
// slots, so the bound covers the pool too; a fresh flow that finds every slot
// held by idle tabs closes one and opens its own in that slot.
func (b *Browser) tab(ctx context.Context, fresh bool) (*browserTab, error) {
	return b.tabFor(ctx, fresh, true)
}

// tabFor is tab, with lean saying what kind of tab to open (see open); an
// idle tab is always a lean one.
func (b *Browser) tabFor(ctx context.Context, fresh, lean bool) (*browserTab, error) {
	if !fresh {
		select {
		case t := <-b.idle:
			return b.reuse(ctx, t, fresh, lean)
		default:
		}
	} else {
		select {
		case b.tabs <- struct{}{}:
			return b.open(ctx, fresh, lean)
		default:
		}
	}
	select {
	case t := <-b.idle:
		return b.reuse(ctx, t, fresh, lean)
	case b.tabs <- struct{}{}:
		return b.open(ctx, fresh, lean)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reuse hands out an idle tab, or replaces it with a new tab in its slot when
// it died meanwhile or a fresh one is wanted.
func (b *Browser) reuse(ctx context.Context, t *browserTab, fresh, lean bool) (*browserTab, error) {
	if !fresh && lean && t.ctx.Err() == nil {
		return t, nil
	}
	t.cancel()
	return b.open(ctx, fresh, lean)
}

// open opens a tab in a slot the caller holds, giving the slot back on error.
// A fresh tab lives in a browser context of its own (no cookies, so no login
// session), disposed with it.
//
// A lean tab is for the flows' own page driving (waitPageJS, submitFormJS):
// it opens as a background tab of the browser's window rather than in a
// window of its own, so Chromium does not paint and composite its pages, and
// without chromedp's DOM and CSS domains, whose events (the document's nodes,
// every style sheet) nothing on a flow reads. With both, a browser flow costs
// about a fifth less CPU (BenchmarkAuthCodeConsent). AppTab keeps a window
// and the domains: it clicks with the mouse and queries nodes.
func (b *Browser) open(ctx context.Context, fresh, lean bool) (*browserTab, error) {
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	if lean {
		opts = append(opts, chromedp.WithNewWindow(false))
	}
	tctx, cancel := chromedp.NewContext(b.ctx, opts...)
	// Open the tab with no deadline (the first Run on a context binds its
	// life), but stop waiting when ctx ends.
	opened := make(chan error, 1)
	go func() {
		err := chromedp.Do(tctx)
		if err == nil && lean {
			_, err = chromedp.Call(tctx, css.Disable, cdp.Empty{})
		}
		if err == nil && lean {
			_, err = chromedp.Call(tctx, dom.Disable, cdp.Empty{})
		}
		opened <- err
	}()
	var err error
	select {
	case err = <-opened:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		<-b.tabs
		return nil, err
	}
	return &browserTab{ctx: tctx, cancel: cancel, fresh: fresh}, nil
}

// release ends a flow's use of t. A shared-session tab whose flow ended well
// waits in the pool for the next flow; any other (fresh, or left on a page
// nobody knows the state of) is closed.
func (b *Browser) release(t *browserTab, reusable bool) {
	if reusable && !t.fresh && t.ctx.Err() == nil && b.ctx.Err() == nil {
		select {
		case b.idle <- t: // never blocks: the pool has room for every slot
			return
		default:
		}
	}
	t.cancel()
	<-b.tabs
}

// Warm opens tabs into the pool until n (at most MaxTabs) are open, so that
// a load run's timed phase does not pay for opening them: on the busy
// two-core machine eight tabs opened together took seconds each. It opens two
// at a time (each tab starts a renderer; more at once only slow each other).
func (b *Browser) Warm(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, cap(b.tabs))
	parallel := make(chan struct{}, 2)
	for opened := len(b.tabs); opened < min(n, cap(b.tabs)); opened++ {
		select {
		case b.tabs <- struct{}{}:
		default: // every slot is taken meanwhile: as many tabs as can be are open
			opened = n
			continue
		}
		wg.Go(func() {
			parallel <- struct{}{}
			defer func() { <-parallel }()
			t, err := b.open(ctx, false, true)
			if err != nil {
				errs <- err
				return
			}
			b.release(t, true)
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("flows: opening browser tabs: %w", err)
	}
	return nil
}
