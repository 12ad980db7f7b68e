package grants

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
)

// BindOptions say how Bind turns a plan into the runner's scenarios.
type BindOptions struct {
	Target *flows.Target
	// Consent is the run's consent mode (--consent): "" lets ResolveConsent
	// pick per target; a scenario's own mode wins.
	Consent string
	// Shard is this runner's part of a distributed run; the zero value runs
	// the whole plan.
	Shard runner.Shard
	// Browser starts the shared headless browser, the first time a scenario
	// with pages runs under browser consent (MaxTabs must then be at least 1).
	Browser flows.BrowserOptions
	// Skipped, if set, is told of each scenario the shard has no share of.
	Skipped func(scenario string)
}

// SetupError is a Bind failure that is not the plan's fault: the browser did
// not start.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Bound is a plan bound to its grants: the scenarios for runner.Run, and the
// resources they hold (seeding, the browser) until Close.
type Bound struct {
	Scenarios []runner.Scenario
	closers   []io.Closer
}

// Close releases the scenarios' resources in reverse order: flows stop their
// background seeding before the browser goes.
func (b *Bound) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i].Close())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// Bind binds each scenario of plan to its row of Table with this shard's share
// of its executor, the consent mode ResolveConsent decides (the scenario is
// labelled with it when its flow takes one) and, when that is browser consent
// for a flow with pages, the one browser all such scenarios share. On error
// nothing stays open.
func Bind(ctx context.Context, plan *runner.Plan, opts BindOptions) (*Bound, error) {
	shard := opts.Shard
	if shard.Count == 0 {
		shard = runner.Shard{Index: 1, Count: 1}
	}
	b := &Bound{}
	var browser *flows.Browser
	for _, spec := range plan.Scenarios {
		ex, ok := shard.Apply(spec.Executor)
		if !ok {
			if opts.Skipped != nil {
				opts.Skipped(spec.Name)
			}
			continue
		}
		// A shard's share of a rate can fall below what the runner schedules.
		if err := ex.Validate("scenarios[" + spec.Name + "]"); err != nil {
			return nil, errors.Join(fmt.Errorf("shard %s: %w", shard, err), b.Close())
		}
		kind, ok := Table.Lookup(spec.Flow)
		if !ok {
			_, err := Table.CheckScenario(spec.Flow, spec.Consent)
			return nil, errors.Join(fmt.Errorf("scenario %s: %w", spec.Name, err), b.Close())
		}
		consent, err := ResolveConsent(spec, opts.Consent, opts.Target)
		if err != nil {
			return nil, errors.Join(err, b.Close())
		}
		if consent == flows.ConsentBrowser && kind.Pages && browser == nil {
			if opts.Browser.MaxTabs < 1 {
				return nil, errors.Join(errors.New("browser consent: --tabs must be at least 1"), b.Close())
			}
			if browser, err = flows.NewBrowser(ctx, opts.Browser); err != nil {
				return nil, errors.Join(&SetupError{Err: fmt.Errorf("browser consent: %w", err)}, b.Close())
			}
			b.closers = append(b.closers, browser)
		}
		flow, err := New(spec.Flow, Config{Target: opts.Target, Consent: consent, Browser: browser})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("scenario %s: %w", spec.Name, err), b.Close())
		}
		if closer, ok := flow.(io.Closer); ok {
			b.closers = append(b.closers, closer)
		}
		sc := runner.Scenario{Name: spec.Name, Flow: flow, Weight: spec.Weight, Executor: ex, Classify: Classify}
		if kind.Consent {
			sc.Consent = string(consent)
		}
		b.Scenarios = append(b.Scenarios, sc)
	}
	if len(b.Scenarios) == 0 {
		return nil, fmt.Errorf("shard %s has nothing to run", shard)
	}
	return b, nil
}
