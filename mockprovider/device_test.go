package mockprovider

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
)

// approveDevice plays the user at the verification page.
func approveDevice(t *testing.T, f *fixture, b *browser, da *oauth2.DeviceAuthResponse, decision string) page {
	t.Helper()
	p := b.get(da.VerificationURIComplete)
	if !p.has("device-form") || !strings.Contains(p.body, `value="`+da.UserCode+`"`) {
		t.Fatalf("verification_uri_complete did not pre-fill the code: %s", p.body)
	}
	p = b.submit(p, "/device", url.Values{"user_code": {strings.ToLower(da.UserCode)}})
	p = b.follow(p)
	if p.has("login-form") {
		p = b.login(p, "alice", "wonderland")
	}
	if !p.has("consent-form") {
		t.Fatalf("no consent page: %s", p.body)
	}
	return b.submit(p, "/consent", url.Values{"decision": {decision}})
}

func TestDeviceFlow(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Lifetimes.DevicePollInterval = time.Second })
	conf := oauthConfig(f, "demo-public", "", "openid", "api.read")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ctx := testContext(t)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != f.url("/device") || len(da.DeviceCode) < 22 || da.Interval != 1 {
		t.Fatalf("device authorization response %+v", da)
	}
	done := approveDevice(t, f, newBrowser(t, f), da, "approve")
	if !done.has("device-done") || !strings.Contains(done.body, "approved") {
		t.Fatalf("D1: no approval page: %s", done.body)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatal("D1: want a refresh token and an ID token")
	}
	// D6: the device code is spent.
	resp, body := f.postForm(t, "/token", url.Values{"grant_type": {DeviceCodeGrantURN}, "device_code": {da.DeviceCode}, "client_id": {"demo-public"}}, "", "")
	wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
}

func TestDevicePolling(t *testing.T) {
	f := newFixture(t, nil)
	start := func(t *testing.T) string {
		t.Helper()
		resp, body := f.postForm(t, "/device_authorization", url.Values{"client_id": {"demo-public"}, "scope": {"api.read"}}, "", "")
		if resp.StatusCode != 200 || body["interval"] != float64(5) || body["expires_in"] != float64(600) {
			t.Fatalf("device authorization %d %v", resp.StatusCode, body)
		}
		return body["device_code"].(string)
	}
	poll := func(t *testing.T, code string, wantErr oauth.ErrorCode) {
		t.Helper()
		resp, body := f.postForm(t, "/token", url.Values{"grant_type": {DeviceCodeGrantURN}, "device_code": {code}, "client_id": {"demo-public"}}, "", "")
		if wantErr == "" {
			if resp.StatusCode != 200 {
				t.Fatalf("poll %d %v", resp.StatusCode, body)
			}
			return
		}
		wantOAuthError(t, resp, body, 400, wantErr)
	}
	t.Run("D2 D3 pending and slow_down", func(t *testing.T) {
		code := start(t)
		poll(t, code, oauth.AuthorizationPending)
		f.clock.Advance(time.Second)
		poll(t, code, oauth.SlowDown)
		f.clock.Advance(6 * time.Second) // under the raised 10 s interval
		poll(t, code, oauth.SlowDown)
		f.clock.Advance(15 * time.Second) // the interval is now 15 s
		poll(t, code, oauth.AuthorizationPending)
	})
	t.Run("D4 denied", func(t *testing.T) {
		resp, body := f.postForm(t, "/device_authorization", url.Values{"client_id": {"demo-public"}}, "", "")
		if resp.StatusCode != 200 {
			t.Fatal(body)
		}
		da := &oauth2.DeviceAuthResponse{VerificationURIComplete: body["verification_uri_complete"].(string), UserCode: body["user_code"].(string)}
		done := approveDevice(t, f, newBrowser(t, f), da, "deny")
		if !strings.Contains(done.body, "denied") {
			t.Fatalf("no denied page: %s", done.body)
		}
		poll(t, body["device_code"].(string), oauth.AccessDenied)
	})
	t.Run("D5 expired", func(t *testing.T) {
		code := start(t)
		f.clock.Advance(11 * time.Minute)
		poll(t, code, oauth.ExpiredToken)
	})
	t.Run("not allowed or unknown", func(t *testing.T) {
		resp, body := f.postForm(t, "/device_authorization", url.Values{}, "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.UnauthorizedClient)
		poll(t, "no-such-code", oauth.InvalidGrant)
		resp, body = f.postForm(t, "/device_authorization", url.Values{"client_id": {"demo-public"}, "scope": {"api.write"}}, "", "")
		wantOAuthError(t, resp, body, 400, oauth.InvalidScope)
	})
	t.Run("unknown user code", func(t *testing.T) {
		b := newBrowser(t, f)
		p := b.get("/device")
		p = b.submit(p, "/device", url.Values{"user_code": {"BCDF-GHJK"}})
		if !p.has("device-error") {
			t.Fatalf("unknown user code accepted: %s", p.body)
		}
	})
}
