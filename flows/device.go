package flows

import (
	"context"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

// DeviceOptions configure the device authorization grant helpers.
type DeviceOptions struct {
	// Role is the client (default device).
	Role Role
	// Scopes requested; nil means the client's scopes.
	Scopes []string
	// Params are extra device authorization request parameters.
	Params url.Values
	// Consent, Browser and Session choose how the user verifies (see
	// AuthCodeOptions); Deny makes the user deny.
	Consent ConsentMode
	Browser *Browser
	Session *Session
	// FreshBrowserSession: see AuthCodeOptions.
	FreshBrowserSession bool
	Deny                bool
	Record              RecordMode
}

// DeviceCodeOptions is DeviceOptions under the name of [DeviceCode], for
// symmetry with [AuthCodeOptions].
type DeviceCodeOptions = DeviceOptions

func (o DeviceOptions) role() Role {
	if o.Role == "" {
		return RoleDevice
	}
	return o.Role
}

// DeviceCode runs the whole device authorization grant (RFC 8628): the device
// authorization request ("device_authorization"), the user's verification at
// verification_uri_complete ("device_verify", "login", "consent"), then polling
// ("device_poll"): once right away, then through x/oauth2's DeviceAccessToken,
// which honours interval and slow_down, until tokens, a denial or expiry.
func DeviceCode(ctx context.Context, t *Target, opts DeviceOptions) (*Result, error) {
	r, err := begin(ctx, t, FlowDeviceCode, opts.role(), opts.Record)
	if err != nil {
		return r.done(err)
	}
	da, err := r.deviceAuthorize(ctx, opts)
	if err != nil {
		return r.done(err)
	}
	if err := r.verifyDevice(ctx, da, opts); err != nil {
		return r.done(err)
	}
	tok, err := r.pollDevice(ctx, da.DeviceCode)
	if code := oauth.ErrorCode(ErrorCode(err)); (code == oauth.AuthorizationPending || code == oauth.SlowDown) && r.client.method() == AuthPrivateKeyJWT {
		// x/oauth2's DeviceAccessToken repeats one request, and with it one
		// client assertion, whose jti the provider refuses the second time.
		return r.done(&UnsupportedError{What: "waiting for a device approval as a private_key_jwt client (poll with PollDevice)"})
	}
	if code := oauth.ErrorCode(ErrorCode(err)); code == oauth.AuthorizationPending || code == oauth.SlowDown {
		conf := oauthConfig(r.md, r.client, nil, "")
		tok, err = conf.DeviceAccessToken(r.deviceCtx(ctx, "device_poll"), da, deviceClientAuth(r.client)...)
		err = classifyTokenError("device_poll", err, r.rec.takeTransportErr())
	}
	r.res.setToken(tok)
	return r.done(err)
}

// DeviceAuthorize sends only the device authorization request (RFC 8628 3.1),
// step "device_authorization"; the response is in Result.Device.
func DeviceAuthorize(ctx context.Context, t *Target, opts DeviceOptions) (*Result, error) {
	r, err := begin(ctx, t, FlowDeviceCode, opts.role(), opts.Record)
	if err != nil {
		return r.done(err)
	}
	_, err = r.deviceAuthorize(ctx, opts)
	return r.done(err)
}

// VerifyDevice plays the user at the verification page for da: enter the code
// (or open verification_uri_complete), log in, approve or deny. Steps
// "device_verify", "login", "consent".
func VerifyDevice(ctx context.Context, t *Target, da *oauth2.DeviceAuthResponse, opts DeviceOptions) (*Result, error) {
	r, err := begin(ctx, t, FlowDeviceCode, opts.role(), opts.Record)
	if err != nil {
		return r.done(err)
	}
	r.res.Device = da
	return r.done(r.verifyDevice(ctx, da, opts))
}

// PollDevice sends one device access token request (RFC 8628 3.4), step
// "device_poll", with no waiting: suites check authorization_pending,
// slow_down, access_denied and expired_token with it.
func PollDevice(ctx context.Context, t *Target, role Role, deviceCode string, opts DeviceOptions) (*Result, error) {
	if role == "" {
		role = opts.role()
	}
	r, err := begin(ctx, t, FlowDeviceCode, role, opts.Record)
	if err != nil {
		return r.done(err)
	}
	tok, err := r.pollDevice(ctx, deviceCode)
	r.res.setToken(tok)
	return r.done(err)
}

func (r *run) deviceAuthorize(ctx context.Context, opts DeviceOptions) (*oauth2.DeviceAuthResponse, error) {
	if r.md.DeviceAuthorizationEndpoint == "" {
		return nil, &UnsupportedError{What: "the device authorization grant (no device_authorization_endpoint in its metadata)"}
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = r.client.Scopes
	}
	conf := oauthConfig(r.md, r.client, scopes, "")
	authOpts := deviceClientAuth(r.client)
	assertion, err := r.t.withClientAssertion(ctx, r.client, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range assertion {
		authOpts = append(authOpts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	for k, vs := range opts.Params {
		for _, v := range vs {
			authOpts = append(authOpts, oauth2.SetAuthURLParam(k, v))
		}
	}
	da, err := conf.DeviceAuth(r.deviceCtx(ctx, "device_authorization"), authOpts...)
	if err != nil {
		return nil, classifyTokenError("device_authorization", err, r.rec.takeTransportErr())
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, &ResponseError{Step: "device_authorization", Status: 200,
			Reason: "device authorization response lacks device_code, user_code or verification_uri (RFC 8628 3.2)"}
	}
	r.res.Device = da
	return da, nil
}

// deviceClientAuth puts a client_secret_post client's secret in the body:
// x/oauth2's DeviceAuth and DeviceAccessToken send only client_id.
func deviceClientAuth(c *Client) []oauth2.AuthCodeOption {
	if c.method() != AuthClientSecretPost {
		return nil
	}
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("client_secret", c.ClientSecret)}
}

// deviceCtx is r.ctx for x/oauth2's device calls: a client_secret_basic client
// gets its Basic header from the transport (RFC 8628 3.1 and 3.4 authenticate
// confidential clients as RFC 6749 2.3 says).
func (r *run) deviceCtx(ctx context.Context, step string) context.Context {
	if r.client.method() == AuthClientSecretBasic {
		return r.t.oauthContextAuth(ctx, r.rec, step, r.client)
	}
	return r.ctx(ctx, step)
}

func (r *run) pollDevice(ctx context.Context, deviceCode string) (*oauth2.Token, error) {
	return r.tokenRequest(ctx, "device_poll", nil, url.Values{"grant_type": {string(oauth.GrantDeviceCode)}, "device_code": {deviceCode}})
}

func (r *run) verifyDevice(ctx context.Context, da *oauth2.DeviceAuthResponse, opts DeviceOptions) error {
	start := da.VerificationURIComplete
	if start == "" {
		start = da.VerificationURI
	}
	mode := opts.Consent
	if mode == "" {
		mode = ConsentHTTP
		if opts.Browser != nil {
			mode = ConsentBrowser
		}
	}
	r.res.Consent = mode
	if mode == ConsentBrowser {
		if opts.Browser == nil {
			return &UnsupportedError{What: "ConsentBrowser without DeviceOptions.Browser"}
		}
		return opts.Browser.verifyDevice(ctx, r, start, da.UserCode, opts.Deny, opts.FreshBrowserSession)
	}
	session := opts.Session
	if session == nil {
		session = NewSession()
	}
	d := &pageDriver{t: r.t, client: r.t.sessionClient(session.jar), rec: r.rec, deny: opts.Deny, userCode: da.UserCode}
	req, err := newGet(start)
	if err != nil {
		return err
	}
	out, err := d.drive(ctx, req, "device_verify", nil)
	if err != nil {
		return err
	}
	if out.final == nil {
		return &ResponseError{Step: "device_verify", Reason: "verification did not end on the done page"}
	}
	return nil
}
