// Package grants binds the grants of package flows to the runner: each row of
// the flow table (Table: the names the CLI and scenario files accept, the
// clients each needs, whether it drives pages or takes a consent mode) becomes
// a runner.Flow that replays the grant against a flows.Target,
// keeping only the timed steps, and Classify maps the flows package's typed
// errors to the runner's outcomes. Grants of single token requests (client
// credentials, password, refresh) send a flows.PreparedTokenRequest built in the
// setup phase; the others run the flows with flows.RecordTrace (no bodies copied).
package grants

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/trace"
)

// Config is what every grant adapter needs.
type Config struct {
	Target *flows.Target
	// Consent drives login and consent for authorization_code (and for seeding
	// refresh tokens through the code flow): flows.ConsentHTTP for the bundled
	// mock and high rates, flows.ConsentBrowser for any provider.
	Consent flows.ConsentMode
	// Browser is the shared headless browser for ConsentBrowser (its tab pool
	// bounds the concurrent page steps); nil with ConsentHTTP.
	Browser *flows.Browser
}

// New returns the runner flow for a flow name of Table. A profile without a
// client the flow can act as fails here, before the run, rather than as a run
// of identical errors.
func New(name string, cfg Config) (runner.Flow, error) {
	if cfg.Target == nil {
		return nil, errors.New("grants: no target")
	}
	k, ok := Table.Lookup(name)
	if !ok {
		_, err := Table.CheckScenario(name, "")
		return nil, fmt.Errorf("grants: %w", err)
	}
	if cfg.Consent == flows.ConsentBrowser && cfg.Browser == nil && k.Pages {
		return nil, errors.New("grants: browser consent needs Config.Browser")
	}
	candidates := k.Clients(cfg.Target)
	if !slices.ContainsFunc(candidates, cfg.Target.HasClient) {
		return nil, needClient(cfg.Target, candidates[0])
	}
	return k.build(cfg), nil
}

func needClient(t *flows.Target, role flows.Role) error {
	_, err := t.Client(role)
	return err
}

// Classify maps an iteration's error to a runner outcome from the flows package's
// typed errors, falling back to runner.ClassifyError for the standard library's.
func Classify(runCtx context.Context, err error) string {
	if err == nil {
		return loadresult.OutcomeOK
	}
	if runCtx.Err() != nil {
		return loadresult.OutcomeInterrupted
	}
	var oauthErr *flows.OAuthError
	var browserErr *flows.BrowserError
	var respErr *flows.ResponseError
	var transportErr *flows.TransportError
	switch {
	case errors.As(err, &oauthErr):
		return loadresult.OutcomeOAuthError
	case errors.As(err, &browserErr):
		if outcome := runner.ClassifyError(runCtx, browserErr.Err); outcome == loadresult.OutcomeTimeout {
			return outcome
		}
		return loadresult.OutcomeBrowser
	case errors.As(err, &respErr):
		if respErr.Status >= 400 {
			return loadresult.OutcomeHTTPError
		}
		return loadresult.OutcomeBadResponse
	case errors.As(err, &transportErr):
		if outcome := runner.ClassifyError(runCtx, transportErr.Err); outcome != loadresult.OutcomeError {
			return outcome
		}
		return loadresult.OutcomeTransport
	}
	return runner.ClassifyError(runCtx, err)
}

// steps is a flow's trace, nil when the flow returned no result.
func steps(res *flows.Result) []trace.Step {
	if res == nil {
		return nil
	}
	return res.Trace
}

// tokenOnly replays a grant of one token request with fixed parameters (client
// credentials, password) through a flows.PreparedTokenRequest: built once in the
// untimed setup phase, then sent as is, its response decoded once and checked
// (access_token and token_type present, expires_in a number, scope a string).
type tokenOnly struct {
	name     string
	prepare  func(context.Context) (*flows.PreparedTokenRequest, error)
	prepared atomic.Pointer[flows.PreparedTokenRequest]
	mu       sync.Mutex // serialises preparing
}

func newClientCredentials(t *flows.Target) *tokenOnly {
	return &tokenOnly{name: flows.FlowClientCredentials, prepare: func(ctx context.Context) (*flows.PreparedTokenRequest, error) {
		return flows.PrepareClientCredentials(ctx, t, flows.ClientCredentialsOptions{})
	}}
}

func newPassword(t *flows.Target) *tokenOnly {
	return &tokenOnly{name: flows.FlowPassword, prepare: func(ctx context.Context) (*flows.PreparedTokenRequest, error) {
		return flows.PreparePassword(ctx, t, flows.PasswordOptions{})
	}}
}

func (f *tokenOnly) Name() string { return f.name }

// Prepare builds the request (discovery included) before the timed phase.
func (f *tokenOnly) Prepare(ctx context.Context, _ runner.SetupNeed) error {
	_, err := f.request(ctx)
	return err
}

// request returns the prepared request, preparing it on first use when Run is
// called without the setup phase.
func (f *tokenOnly) request(ctx context.Context) (*flows.PreparedTokenRequest, error) {
	if p := f.prepared.Load(); p != nil {
		return p, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.prepared.Load(); p != nil {
		return p, nil
	}
	p, err := f.prepare(ctx)
	if err != nil {
		return nil, err
	}
	f.prepared.Store(p)
	return p, nil
}

func (f *tokenOnly) Run(ctx context.Context) ([]trace.Step, error) {
	p, err := f.request(ctx)
	if err != nil {
		return nil, err
	}
	s, err := p.Check(ctx, nil)
	return []trace.Step{s}, err
}
