package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// AdminClient calls the bundled mock provider's admin API (docs/mockprovider.md:
// bearer token, JSON in and out). Other providers have none.
type AdminClient struct {
	base   string
	token  string
	client *http.Client
}

// AdminError is a failed admin call.
type AdminError struct {
	Call    string
	Status  int
	Message string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("flows: admin %s: HTTP %d: %s", e.Call, e.Status, e.Message)
}

// NewAdminClient returns a client for the admin API under base (the issuer of
// the mock, or admin.url). hc nil means a plain client with a 10 s timeout.
func NewAdminClient(base, token string, hc *http.Client) *AdminClient {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &AdminClient{base: strings.TrimSuffix(base, "/"), token: token, client: hc}
}

// AdminClient returns the admin client of the target's profile, or an
// [*UnsupportedError] when the profile has no admin section or no token.
func (t *Target) AdminClient() (*AdminClient, error) {
	if t.Admin == nil {
		return nil, &UnsupportedError{What: "an admin API (the profile has no admin section)"}
	}
	token := t.AdminToken()
	if token == "" {
		return nil, &UnsupportedError{What: "an admin API (admin.token is empty; is " + t.Admin.TokenEnv + " set?)"}
	}
	base := t.Admin.URL
	if base == "" {
		base = t.Issuer
	}
	return NewAdminClient(base, token, t.HTTPClient()), nil
}

// CheckAdminToken reports a profile that claims a feature needing the admin
// API (features.admin_clock, features.key_rotation) while the API's token is
// empty, typically because admin.token_env names a variable that is not set.
// Such a profile is a configuration error, found before a run: otherwise
// every check using the feature fails with "is VAR set?". Profiles that
// claim neither feature need no token.
func (t *Target) CheckAdminToken() error {
	var field string
	switch {
	case t.Features.AdminClock:
		field = "features.admin_clock"
	case t.Features.KeyRotation:
		field = "features.key_rotation"
	default:
		return nil
	}
	if t.Admin == nil || t.AdminToken() != "" {
		return nil // no admin section is refused when the profile is parsed
	}
	if t.Admin.TokenEnv != "" {
		return &ProfileError{Field: field, Err: fmt.Errorf("needs the admin API token, but the environment variable %s (admin.token_env) is not set: set it to the provider's admin token (grantbench provider --admin-token), or set the feature to false", t.Admin.TokenEnv)}
	}
	return &ProfileError{Field: field, Err: errors.New("needs the admin API token, but admin.token is empty")}
}

// ClockState is the provider's clock as the admin API reports it.
type ClockState struct {
	Now    time.Time `json:"now"`
	Offset float64   `json:"offset_seconds"`
}

// Clock reads the provider's clock.
func (a *AdminClient) Clock(ctx context.Context) (ClockState, error) {
	var out ClockState
	err := a.Do(ctx, http.MethodGet, "/admin/clock", nil, &out)
	return out, err
}

// Now reads the provider's current time, which runs ahead of ours once the
// clock was advanced.
func (a *AdminClient) Now(ctx context.Context) (time.Time, error) {
	c, err := a.Clock(ctx)
	return c.Now, err
}

// AdvanceClock moves the provider's clock forward by d (it must be positive;
// milliseconds are kept), so expiry checks never sleep.
func (a *AdminClient) AdvanceClock(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return errors.New("flows: admin clock/advance: the duration must be positive")
	}
	secs := math.Round(d.Seconds()*1000) / 1000
	return a.Do(ctx, http.MethodPost, "/admin/clock/advance", map[string]float64{"seconds": secs}, nil)
}

// KeyRotation is the answer to a key rotation.
type KeyRotation struct {
	KID                    string `json:"kid"`
	PreviousKID            string `json:"previous_kid"`
	PreviousPublishedUntil string `json:"previous_published_until"`
}

// RotateKeys makes the provider sign with a new key from now on.
func (a *AdminClient) RotateKeys(ctx context.Context) (KeyRotation, error) {
	var out KeyRotation
	err := a.Do(ctx, http.MethodPost, "/admin/keys/rotate", nil, &out)
	return out, err
}

// Counters are the provider's request and issuance counters and state sizes,
// by group ("requests", "issued", "state", ...) then name.
type Counters map[string]map[string]int64

// Counters reads the provider's counters.
func (a *AdminClient) Counters(ctx context.Context) (Counters, error) {
	var out Counters
	err := a.Do(ctx, http.MethodGet, "/admin/counters", nil, &out)
	return out, err
}

// Do makes any admin call: in (if not nil) is sent as JSON, the JSON answer is
// decoded into out (if not nil). Later admin calls (defects, faults) use it.
func (a *AdminClient) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("flows: admin %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("flows: admin %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return &TransportError{Step: "admin", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &TransportError{Step: "admin", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return &AdminError{Call: method + " " + path, Status: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &AdminError{Call: method + " " + path, Status: resp.StatusCode, Message: "unparsable answer: " + err.Error()}
	}
	return nil
}
