package grants

import (
	"context"
	"errors"
	"fmt"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/trace"
)

// maxSeededDeviceCodes bounds the device codes approved before the run; beyond
// them, codes are approved in the background while the run goes on.
const maxSeededDeviceCodes = 4096

// deviceReplenishers approve device codes in the background during the run.
const deviceReplenishers = 4

// deviceCode replays the device authorization grant's token side (RFC 8628 3.4):
// the setup phase runs device authorization and the user's approval for a pool of
// device codes, and each timed iteration redeems one approved code with a single
// device access token request (step "device_poll"). A user approving on another
// device takes seconds to minutes, so timing it would measure the user; what a
// provider must sustain is the device's token request. Used codes are replaced in
// the background, which also keeps the device authorization and verification
// endpoints busy during the run, as real users would.
type deviceCode struct {
	cfg  Config
	pool *seedPool[string]
}

func newDeviceCode(cfg Config) *deviceCode { return &deviceCode{cfg: cfg} }

func (*deviceCode) Name() string { return flows.FlowDeviceCode }

func (f *deviceCode) Prepare(ctx context.Context, need runner.SetupNeed) error {
	n := max(need.Concurrency, 1)
	if need.Iterations > 0 {
		n = int(min(max(int64(n), need.Iterations), maxSeededDeviceCodes))
	}
	n = min(n, maxSeededDeviceCodes)
	sessions := newSessionRing(setupParallelism)
	pool, err := newSeedPool(ctx, n, deviceReplenishers, func(ctx context.Context) (string, error) {
		return f.approvedCode(ctx, sessions.next())
	})
	if err != nil {
		return fmt.Errorf("approving device codes: %w", err)
	}
	f.pool = pool
	return nil
}

// approvedCode runs device authorization and the user's approval, and returns the
// device code, ready to be redeemed.
func (f *deviceCode) approvedCode(ctx context.Context, s *flows.Session) (string, error) {
	opts := flows.DeviceOptions{Consent: f.cfg.Consent, Browser: f.cfg.Browser, Session: s, Record: flows.RecordTrace}
	res, err := flows.DeviceAuthorize(ctx, f.cfg.Target, opts)
	if err != nil {
		return "", err
	}
	if res.Device == nil || res.Device.DeviceCode == "" {
		return "", errors.New("device authorization response without device_code")
	}
	if _, err := flows.VerifyDevice(ctx, f.cfg.Target, res.Device, opts); err != nil {
		return "", err
	}
	return res.Device.DeviceCode, nil
}

func (f *deviceCode) Close() error {
	f.pool.close()
	return nil
}

func (f *deviceCode) Run(ctx context.Context) ([]trace.Step, error) {
	if f.pool == nil {
		return nil, errors.New("grants: device_code flow used without its setup phase")
	}
	code, err := f.pool.take(ctx)
	if err != nil {
		return nil, err
	}
	f.pool.used()
	res, err := flows.PollDevice(ctx, f.cfg.Target, "", code, flows.DeviceOptions{Record: flows.RecordTrace})
	if err == nil && (res.Token == nil || res.Token.AccessToken == "") {
		err = &flows.ResponseError{Step: "device_poll", Status: 200, Reason: "token response without access_token"}
	}
	return steps(res), err
}
