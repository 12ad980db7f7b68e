package flows

import (
	"context"

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
	if !fresh {
		select {
		case t := <-b.idle:
			return b.reuse(ctx, t, fresh)
		default:
		}
	} else {
		select {
		case b.tabs <- struct{}{}:
			return b.open(ctx, fresh)
		default:
		}
	}
	select {
	case t := <-b.idle:
		return b.reuse(ctx, t, fresh)
	case b.tabs <- struct{}{}:
		return b.open(ctx, fresh)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reuse hands out an idle tab, or replaces it with a new tab in its slot when
// it died meanwhile or a fresh one is wanted.
func (b *Browser) reuse(ctx context.Context, t *browserTab, fresh bool) (*browserTab, error) {
	if !fresh && t.ctx.Err() == nil {
		return t, nil
	}
	t.cancel()
	return b.open(ctx, fresh)
}

// open opens a tab in a slot the caller holds, giving the slot back on error.
// A fresh tab lives in a browser context of its own (no cookies, so no login
// session), disposed with it.
func (b *Browser) open(ctx context.Context, fresh bool) (*browserTab, error) {
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	tctx, cancel := chromedp.NewContext(b.ctx, opts...)
	// Open the tab with no deadline (the first Run on a context binds its
	// life), but stop waiting when ctx ends.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tctx) }()
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
