package suites

import (
	"context"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// deviceAuthorization is a parsed RFC 8628 3.2 response.
type deviceAuthorization struct {
	DeviceCode      string
	UserCode        string
	VerificationURI string
	ExpiresIn       time.Duration
	Interval        time.Duration
}

// deviceClient returns the device client, skipping unless the profile claims
// the device grant and the provider advertises its endpoint.
func (e *env) deviceClient() *flows.Client {
	e.need(e.target.Features.Device, "device")
	e.endpoint("device_authorization_endpoint", e.metadata().DeviceAuthorizationEndpoint)
	return e.client(flows.RoleDevice)
}

// startDevice sends a device authorization request (RFC 8628 3.1) as c.
func (e *env) startDevice(ctx context.Context, c *flows.Client) deviceAuthorization {
	form := url.Values{}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	r := e.post(ctx, "device_authorization", e.metadata().DeviceAuthorizationEndpoint, c, authProfile, form)
	Expect(r.Status).To(Equal(200), "device authorization; got %s", r.describe())
	obj := r.object()
	Expect(obj).NotTo(BeNil(), "device authorization response is JSON; got %s", r.describe())
	da := deviceAuthorization{DeviceCode: r.str("device_code"), UserCode: r.str("user_code"), VerificationURI: r.str("verification_uri")}
	Expect(da.DeviceCode).NotTo(BeEmpty(), "device_code")
	Expect(da.UserCode).NotTo(BeEmpty(), "user_code")
	Expect(da.VerificationURI).NotTo(BeEmpty(), "verification_uri")
	expiresIn, ok := obj["expires_in"].(float64)
	Expect(ok).To(BeTrue(), "expires_in is a number")
	da.ExpiresIn = time.Duration(expiresIn) * time.Second
	da.Interval = 5 * time.Second // RFC 8628 3.2 default
	if interval, ok := obj["interval"].(float64); ok {
		da.Interval = time.Duration(interval) * time.Second
	}
	return da
}

// poll sends one device access token request (RFC 8628 3.4).
func (e *env) poll(ctx context.Context, c *flows.Client, deviceCode string) *response {
	form := url.Values{"grant_type": {string(oauth.GrantDeviceCode)}, "device_code": {deviceCode}}
	return e.post(ctx, "device_poll", e.metadata().TokenEndpoint, c, authProfile, form)
}

// deviceFlow runs the whole device flow through flows, approving in the
// browser (forceBrowser) or over HTTP as the profile allows.
func (e *env) deviceFlow(ctx context.Context, forceBrowser bool) (*flows.Result, error) {
	mode := e.consentMode(forceBrowser)
	res, err := flows.DeviceCode(e.spec(ctx), e.target, flows.DeviceCodeOptions{
		Consent: mode,
		Browser: e.browserFor(mode),
		// A browser check logs in itself, whatever ran before it (see
		// authOptions.forceBrowser).
		FreshBrowserSession: forceBrowser,
	})
	e.keep(res)
	e.keepErr(err)
	return res, err
}

func (e *env) declareDevice() {
	Describe("device authorization grant", Label("device"), func() {
		It("D1: the device flow approved in the browser at verification_uri yields tokens", check("D1", "rfc8628", "browser"), func(ctx SpecContext) {
			e.deviceClient()
			res, err := e.deviceFlow(ctx, true)
			Expect(err).NotTo(HaveOccurred(), "device flow")
			Expect(res.Token).NotTo(BeNil(), "a token response")
			Expect(res.Token.AccessToken).NotTo(BeEmpty(), "access_token")
			Expect(strings.ToLower(res.Token.TokenType)).To(Equal("bearer"), "token_type")
		})

		It("D2: polling before approval gets authorization_pending", check("D2", "rfc8628"), func(ctx SpecContext) {
			c := e.deviceClient()
			da := e.startDevice(ctx, c)
			expectTokenError(e.poll(ctx, c, da.DeviceCode), oauth.AuthorizationPending)
		})

		It("D3: polling faster than the interval gets slow_down", check("D3", "rfc8628"), func(ctx SpecContext) {
			c := e.deviceClient()
			da := e.startDevice(ctx, c)
			Expect(da.Interval).To(BeNumerically(">", 0), "interval")
			first := e.poll(ctx, c, da.DeviceCode)
			expectTokenError(first, oauth.AuthorizationPending, oauth.SlowDown)
			if first.str("error") == oauth.SlowDown.String() {
				return
			}
			// The second poll comes well within the interval of the first.
			second := e.poll(ctx, c, da.DeviceCode)
			if !e.target.Features.SlowDown {
				// RFC 8628 3.5 puts the interval on the client; a server may
				// enforce it with slow_down, or not.
				expectTokenError(second, oauth.AuthorizationPending, oauth.SlowDown)
				if second.str("error") != oauth.SlowDown.String() {
					Skip("the provider did not answer slow_down to a poll within the interval, which RFC 8628 3.5 leaves to it; claim features.slow_down to require it")
				}
				return
			}
			expectTokenError(second, oauth.SlowDown)
		})

		It("D4: a user who denies on the verification page makes the poll answer access_denied", check("D4", "rfc8628", "browser"), func(ctx SpecContext) {
			c := e.deviceClient()
			mode := e.consentMode(true)
			// A fresh browser session: it logs in itself (see authOptions.forceBrowser).
			opts := flows.DeviceOptions{Consent: mode, Browser: e.browserFor(mode), Deny: true, FreshBrowserSession: true}
			started, err := flows.DeviceAuthorize(e.spec(ctx), e.target, opts)
			e.keep(started)
			Expect(err).NotTo(HaveOccurred(), "device authorization request")
			denied, err := flows.VerifyDevice(e.spec(ctx), e.target, started.Device, opts)
			e.keep(denied)
			e.keepErr(err)
			Expect(err).NotTo(HaveOccurred(), "deny on the verification page")
			// One poll right after the denial: RFC 8628 3.5 answers it with
			// access_denied. A provider that keeps the request pending fails
			// here, by its answer, not by a deadline.
			expectTokenError(e.poll(ctx, c, started.Device.DeviceCode), oauth.AccessDenied)
		})

		It("D5: polling after expires_in gets expired_token", check("D5", "rfc8628"), func(ctx SpecContext) {
			c := e.deviceClient()
			da := e.startDevice(ctx, c)
			e.passTime(ctx, da.ExpiresIn, "the device code")
			expectTokenError(e.poll(ctx, c, da.DeviceCode), oauth.ExpiredToken)
		})

		It("D6: a device code used again after tokens were issued is refused", check("D6", "rfc8628"), func(ctx SpecContext) {
			c := e.deviceClient()
			res, err := e.deviceFlow(ctx, false)
			Expect(err).NotTo(HaveOccurred(), "device flow")
			Expect(res.Device).NotTo(BeNil(), "the device authorization response")
			r := e.poll(ctx, c, res.Device.DeviceCode)
			Expect(hasMember(r, "access_token")).To(BeFalse(), "no second token for a used device code; got %s", r.describe())
			expectTokenError(r, oauth.InvalidGrant, oauth.ExpiredToken, oauth.AccessDenied)
		})
	})
}
