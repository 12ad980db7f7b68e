package mockprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// LocalOptions say how a command starts the bundled mock in its own process.
type LocalOptions struct {
	// Defects to turn on: NAME for the whole provider or CLIENT:NAME for one
	// client, as `grantbench provider --defect` takes them.
	Defects []string
	// Settings are settings of the bundled mock to apply (see Settings):
	// behaviours the specifications allow besides the default's.
	Settings []string
	// AdminToken, when true, protects the admin API with a fresh random token
	// (Local.AdminToken), which conformance checks need to reset state.
	AdminToken bool
	// Registration turns on dynamic client registration (RFC 7591), which
	// the default configuration leaves off.
	Registration bool
	// Options are passed on to the server (clock, logger, ...).
	Options []Option
}

// Local is the bundled mock provider started in-process on 127.0.0.1 by
// StartBundled: the server, the configuration it serves (so callers can
// register its secrets with a redactor) and its admin token ("" when off).
type Local struct {
	*Server
	Config     Config
	AdminToken string
}

// ErrLocalConfig marks a StartBundled error caused by its options (an unknown
// defect or client), as opposed to a failure to listen.
var ErrLocalConfig = errors.New("bundled mock configuration")

// StartBundled starts the bundled mock provider (DefaultConfig) on an ephemeral
// port of 127.0.0.1 until Close or until ctx is done: the one way load, demo,
// conform and rp start the mock in their own process.
func StartBundled(ctx context.Context, opts LocalOptions) (*Local, error) {
	cfg, err := DefaultConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLocalConfig, err)
	}
	for _, name := range opts.Settings {
		if err := cfg.ApplySetting(name); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLocalConfig, err)
		}
	}
	for _, d := range opts.Defects {
		if err := cfg.AddDefect(d); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLocalConfig, err)
		}
	}
	cfg.Registration.Enabled = cfg.Registration.Enabled || opts.Registration
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLocalConfig, err)
	}
	l := &Local{Config: cfg}
	serverOpts := opts.Options
	if opts.AdminToken {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("bundled mock: admin token: %w", err)
		}
		l.AdminToken = hex.EncodeToString(b[:])
		serverOpts = append(slices.Clip(serverOpts), WithAdminToken(l.AdminToken))
	}
	if l.Server, err = StartLocal(ctx, "127.0.0.1:0", cfg, serverOpts...); err != nil {
		return nil, fmt.Errorf("starting the bundled mock provider: %w", err)
	}
	return l, nil
}

// Secrets are the served configuration's client secrets and user passwords and
// the admin token: what a report of a run against this mock must never show.
func (l *Local) Secrets() []string {
	var secrets []string
	if l.AdminToken != "" {
		secrets = append(secrets, l.AdminToken)
	}
	for _, c := range l.Config.Clients {
		if c.Secret != "" {
			secrets = append(secrets, c.Secret)
		}
	}
	for _, u := range l.Config.Users {
		secrets = append(secrets, u.Password)
	}
	return secrets
}
