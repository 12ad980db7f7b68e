// Package grants binds the grants of package flows to the runner: each flow name
// the CLI accepts (client_credentials, authorization_code, refresh, device_code,
// password) becomes a runner.Flow that replays the grant against a flows.Target,
// keeping only the timed steps (flows.RecordTrace, no bodies copied), and Classify
// maps the flows package's typed errors to the runner's outcomes.
package grants

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
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

// New returns the runner flow for a flow name.
func New(name string, cfg Config) (runner.Flow, error) {
	if cfg.Target == nil {
		return nil, errors.New("grants: no target")
	}
	if cfg.Consent == flows.ConsentBrowser && cfg.Browser == nil && (name == "authorization_code" || name == "device_code") {
		return nil, errors.New("grants: browser consent needs Config.Browser")
	}
	t := cfg.Target
	// A profile without the client a grant needs fails here, before the run,
	// rather than as a run of identical errors.
	switch name {
	case "client_credentials":
		return clientCredentials{t: t}, needClient(t, t.ServiceRole())
	case "password":
		return password{t: t}, needClient(t, flows.RoleLegacy)
	case "refresh":
		if !t.HasClient(flows.RoleConfidential) && !t.HasClient(flows.RoleLegacy) {
			return nil, needClient(t, flows.RoleConfidential)
		}
		return newRefresh(cfg), nil
	case "authorization_code":
		return newAuthCode(cfg), needClient(t, flows.RoleConfidential)
	case "device_code":
		return newDeviceCode(cfg), needClient(t, flows.RoleDevice)
	}
	return nil, fmt.Errorf("grants: unknown flow %q (one of %s)", name, strings.Join(runner.FlowNames(), ", "))
}

func needClient(t *flows.Target, role flows.Role) error {
	_, err := t.Client(role)
	return err
}

// Classify maps an iteration's error to a runner outcome from the flows package's
// typed errors, falling back to runner.ClassifyError for the standard library's.
func Classify(runCtx context.Context, err error) string {
	if err == nil {
		return runner.OutcomeOK
	}
	if runCtx.Err() != nil {
		return runner.OutcomeInterrupted
	}
	var oauthErr *flows.OAuthError
	var browserErr *flows.BrowserError
	var respErr *flows.ResponseError
	var transportErr *flows.TransportError
	switch {
	case errors.As(err, &oauthErr):
		return runner.OutcomeOAuthError
	case errors.As(err, &browserErr):
		if outcome := runner.ClassifyError(runCtx, browserErr.Err); outcome == runner.OutcomeTimeout {
			return outcome
		}
		return runner.OutcomeBrowser
	case errors.As(err, &respErr):
		if respErr.Status >= 400 {
			return runner.OutcomeHTTPError
		}
		return runner.OutcomeBadResponse
	case errors.As(err, &transportErr):
		if outcome := runner.ClassifyError(runCtx, transportErr.Err); outcome != runner.OutcomeError {
			return outcome
		}
		return runner.OutcomeTransport
	}
	return runner.ClassifyError(runCtx, err)
}

// steps converts a flow's trace to the runner's steps.
func steps(res *flows.Result) []runner.Step {
	if res == nil {
		return nil
	}
	out := make([]runner.Step, len(res.Trace))
	for i, s := range res.Trace {
		out[i] = runner.Step{Name: s.Name, Start: s.Start, End: s.End, Status: s.Status, OAuthError: s.OAuthError, Err: s.Err}
	}
	return out
}

type clientCredentials struct{ t *flows.Target }

func (clientCredentials) Name() string { return "client_credentials" }

func (f clientCredentials) Run(ctx context.Context) ([]runner.Step, error) {
	res, err := flows.ClientCredentials(ctx, f.t, flows.ClientCredentialsOptions{Record: flows.RecordTrace})
	if err == nil && (res.Token == nil || res.Token.AccessToken == "") {
		err = &flows.ResponseError{Step: "token", Status: 200, Reason: "token response without access_token"}
	}
	return steps(res), err
}

type password struct{ t *flows.Target }

func (password) Name() string { return "password" }

func (f password) Run(ctx context.Context) ([]runner.Step, error) {
	res, err := flows.Password(ctx, f.t, flows.PasswordOptions{Record: flows.RecordTrace})
	if err == nil && (res.Token == nil || res.Token.AccessToken == "") {
		err = &flows.ResponseError{Step: "token", Status: 200, Reason: "token response without access_token"}
	}
	return steps(res), err
}
