package grants

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/trace"
)

// maxSeeded bounds how much the setup phase seeds for one scenario.
const maxSeeded = 1024

// refresh replays the refresh grant (RFC 6749 6). The setup phase seeds a pool of
// refresh tokens, one per iteration that can run at once; each iteration takes a
// token, redeems it and puts back the rotated one. A token lost to a failed
// iteration (with rotation and reuse detection the old one cannot be trusted) is
// replaced in the background.
type refresh struct {
	cfg  Config
	role flows.Role
	pool *seedPool[string]
	// request is the refresh request, prepared in the setup phase.
	request *flows.PreparedTokenRequest
}

func newRefresh(cfg Config) *refresh { return &refresh{cfg: cfg} }

func (*refresh) Name() string { return flows.FlowRefresh }

// Prepare seeds the pool, logging in through the code flow (or the password
// grant, see seedRefreshToken).
func (f *refresh) Prepare(ctx context.Context, need runner.SetupNeed) error {
	n := min(max(need.Concurrency, 1), maxSeeded)
	if need.Iterations > 0 && int64(n) > need.Iterations {
		n = int(need.Iterations)
	}
	role, _, err := seedRefreshToken(ctx, f.cfg, "", nil)
	if err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	f.role = role
	// The refresh requests differ only in the token: prepared once (see
	// flows.PreparedTokenRequest), each iteration adds its refresh_token.
	f.request, err = flows.PrepareTokenRequest(ctx, f.cfg.Target, flows.TokenRequestOptions{Role: role, GrantType: "refresh_token", Step: "refresh"})
	if err != nil {
		return fmt.Errorf("preparing the refresh request: %w", err)
	}
	sessions := newSessionRing(setupParallelism)
	f.pool, err = newSeedPool(ctx, n, 1, func(ctx context.Context) (string, error) {
		_, tok, err := seedRefreshToken(ctx, f.cfg, role, sessions.next())
		return tok, err
	})
	if err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	return nil
}

// Close stops the replenisher.
func (f *refresh) Close() error {
	f.pool.close()
	return nil
}

func (f *refresh) Run(ctx context.Context) ([]trace.Step, error) {
	if f.pool == nil || f.request == nil {
		return nil, errors.New("grants: refresh flow used without its setup phase")
	}
	token, err := f.pool.take(ctx)
	if err != nil {
		return nil, err
	}
	tok, s, err := f.request.Send(ctx, url.Values{"refresh_token": {token}})
	steps := []trace.Step{s}
	if err != nil {
		f.pool.used()
		return steps, err
	}
	// A provider that does not rotate leaves the token as it was (RFC 6749 6).
	if tok.RefreshToken != "" {
		token = tok.RefreshToken
	}
	f.pool.put(token)
	return steps, nil
}

// seedRefreshToken obtains one refresh token. Role "" picks the way: the
// authorization code grant with the confidential client and offline_access (how
// refresh tokens are usually obtained) when the target's pages can be driven, else
// the password grant with the legacy client when the target offers it.
func seedRefreshToken(ctx context.Context, cfg Config, role flows.Role, session *flows.Session) (flows.Role, string, error) {
	t := cfg.Target
	useCode := role == flows.RoleConfidential ||
		(role == "" && t.HasClient(flows.RoleConfidential) && (cfg.Consent == flows.ConsentHTTP || !t.Features.Password))
	if useCode {
		res, err := flows.AuthCode(ctx, t, flows.AuthCodeOptions{
			Scopes:  withScope(clientScopes(t, flows.RoleConfidential), "offline_access"),
			Consent: cfg.Consent, Browser: cfg.Browser, Session: session, Record: flows.RecordTrace,
		})
		if err != nil {
			return "", "", err
		}
		if res.Token == nil || res.Token.RefreshToken == "" {
			return "", "", errors.New("the code flow issued no refresh token (does the client allow offline_access and refresh_token?)")
		}
		return flows.RoleConfidential, res.Token.RefreshToken, nil
	}
	res, err := flows.Password(ctx, t, flows.PasswordOptions{Record: flows.RecordTrace})
	if err != nil {
		return "", "", err
	}
	if res.Token == nil || res.Token.RefreshToken == "" {
		return "", "", errors.New("the password grant issued no refresh token")
	}
	return flows.RoleLegacy, res.Token.RefreshToken, nil
}

func clientScopes(t *flows.Target, role flows.Role) []string {
	c, err := t.Client(role)
	if err != nil {
		return nil
	}
	return c.Scopes
}

func withScope(scopes []string, s string) []string {
	for _, x := range scopes {
		if x == s {
			return scopes
		}
	}
	return append(append([]string(nil), scopes...), s)
}

// sessionRing hands out a few login sessions in turn, so seeding logs in a handful
// of times instead of once per seeded item. Nil sessions (browser mode) are fine.
type sessionRing struct {
	mu       sync.Mutex
	sessions []*flows.Session
	i        int
}

func newSessionRing(n int) *sessionRing {
	r := &sessionRing{}
	for range n {
		r.sessions = append(r.sessions, flows.NewSession())
	}
	return r
}

func (r *sessionRing) next() *flows.Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[r.i%len(r.sessions)]
	r.i++
	return s
}
