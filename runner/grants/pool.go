package grants

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// seedPool holds single-use or returnable material for iterations (refresh tokens,
// approved device codes, login sessions). The setup phase fills it; during the run
// a background replenisher seeds a replacement whenever one is used up, so the
// timed phase measures the endpoint under test rather than the seeding.
type seedPool[T any] struct {
	items chan T
	need  chan struct{}
	seed  func(ctx context.Context) (T, error)

	stop    context.CancelFunc
	stopped sync.WaitGroup
}

// setupParallelism bounds concurrent seeding: setup is untimed, but it should not
// hammer the target's login as if it were the test.
const setupParallelism = 8

// newSeedPool seeds n items (one first, to fail fast with a clear error), then
// starts `replenishers` background seeders.
func newSeedPool[T any](ctx context.Context, n, replenishers int, seed func(ctx context.Context) (T, error)) (*seedPool[T], error) {
	n = max(n, 1)
	p := &seedPool[T]{items: make(chan T, n), need: make(chan struct{}, n), seed: seed}
	first, err := seed(ctx)
	if err != nil {
		return nil, err
	}
	p.items <- first
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, setupParallelism)
	for i := 1; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			item, err := seed(ctx)
			if err != nil {
				errs <- err
				return
			}
			p.items <- item
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("seeded %d of %d: %w", len(p.items), n, err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = cancel
	for range max(replenishers, 1) {
		p.stopped.Add(1)
		go p.replenish(bg)
	}
	return p, nil
}

// take waits for an item.
func (p *seedPool[T]) take(ctx context.Context) (T, error) {
	select {
	case item := <-p.items:
		return item, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// put returns a reusable item.
func (p *seedPool[T]) put(item T) {
	select {
	case p.items <- item:
	default: // cannot happen: the pool never holds more than its capacity
	}
}

// used asks the replenisher for a replacement of a consumed or lost item.
func (p *seedPool[T]) used() {
	select {
	case p.need <- struct{}{}:
	default:
	}
}

func (p *seedPool[T]) replenish(ctx context.Context) {
	defer p.stopped.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.need:
		}
		for attempt := 1; ctx.Err() == nil; attempt++ {
			item, err := p.seed(ctx)
			if err == nil {
				p.put(item)
				break
			}
			// Back off (bounded) while the target refuses; iterations waiting for
			// an item then show up as slow, which is what happened.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
			}
		}
	}
}

// close stops the replenishers.
func (p *seedPool[T]) close() {
	if p != nil && p.stop != nil {
		p.stop()
		p.stopped.Wait()
	}
}
