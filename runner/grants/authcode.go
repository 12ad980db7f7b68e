package grants

import (
	"context"
	"errors"
	"fmt"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/trace"
)

// authCode replays the authorization code grant with PKCE. The setup phase logs
// in: with ConsentHTTP it seeds a pool of login sessions (cookie jars), one per
// iteration that can run at once; with ConsentBrowser it logs the shared browser
// in once. Either way the timed iterations show the authorize, consent and token
// steps of a user who is already signed in, as most real logins are.
type authCode struct {
	cfg      Config
	sessions *seedPool[*flows.Session]
	prepared bool
}

func newAuthCode(cfg Config) *authCode { return &authCode{cfg: cfg} }

func (*authCode) Name() string { return flows.FlowAuthCode }

func (f *authCode) Prepare(ctx context.Context, need runner.SetupNeed) error {
	switch f.cfg.Consent {
	case flows.ConsentHTTP:
		n := min(max(need.Concurrency, 1), maxSeeded)
		pool, err := newSeedPool(ctx, n, 0, func(ctx context.Context) (*flows.Session, error) {
			s := flows.NewSession()
			_, err := f.run(ctx, s)
			return s, err
		})
		if err != nil {
			return fmt.Errorf("logging in: %w", err)
		}
		f.sessions = pool
	case flows.ConsentBrowser:
		if f.cfg.Browser == nil {
			return errors.New("grants: authorization_code with browser consent needs a browser")
		}
		if _, err := f.run(ctx, nil); err != nil {
			return fmt.Errorf("logging in the browser: %w", err)
		}
		// Every tab the run can use at once, open before it starts.
		if err := f.cfg.Browser.Warm(ctx, need.Concurrency); err != nil {
			return err
		}
	default:
		return fmt.Errorf("grants: consent mode %q (want http or browser)", f.cfg.Consent)
	}
	f.prepared = true
	return nil
}

func (f *authCode) Close() error {
	f.sessions.close()
	return nil
}

func (f *authCode) run(ctx context.Context, s *flows.Session) (*flows.Result, error) {
	res, err := flows.AuthCode(ctx, f.cfg.Target, flows.AuthCodeOptions{
		Consent: f.cfg.Consent, Browser: f.cfg.Browser, Session: s, Record: flows.RecordTrace,
	})
	if err == nil && (res.Token == nil || res.Token.AccessToken == "") {
		err = &flows.ResponseError{Step: "token", Status: 200, Reason: "token response without access_token"}
	}
	return res, err
}

func (f *authCode) Run(ctx context.Context) ([]trace.Step, error) {
	if !f.prepared {
		return nil, errors.New("grants: authorization_code flow used without its setup phase")
	}
	if f.sessions == nil {
		res, err := f.run(ctx, nil)
		return steps(res), err
	}
	s, err := f.sessions.take(ctx)
	if err != nil {
		return nil, err
	}
	defer f.sessions.put(s)
	res, err := f.run(ctx, s)
	return steps(res), err
}
