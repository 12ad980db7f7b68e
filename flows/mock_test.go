package flows

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/trace"
)

const testAdminToken = "flows-test-admin-token"

// startMock serves the bundled mock provider on 127.0.0.1 for one test and
// returns its discovered profile.
func startMock(t testing.TB) *Target {
	t.Helper()
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg, mockprovider.WithAdminToken(testAdminToken))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tg := MockTarget(srv.Issuer(), testAdminToken)
	t.Cleanup(func() {
		tg.CloseIdleConnections()
		srv.Close()
		cancel()
	})
	if err := tg.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	return tg
}

func stepNames(steps []trace.Step) []string {
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return names
}

func TestMockDiscovery(t *testing.T) {
	tg := startMock(t)
	md := tg.Metadata
	if md.Issuer != tg.Issuer || md.AuthorizationEndpoint == "" || md.DeviceAuthorizationEndpoint == "" ||
		md.JWKSURI == "" || !md.SupportsCodeChallenge("S256") || !md.AuthorizationResponseIssParameterSupported {
		t.Errorf("metadata = %+v", md)
	}
}

func TestMockClientCredentials(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	for _, mode := range []RecordMode{RecordAll, RecordTrace} {
		res, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Record: mode})
		if err != nil {
			t.Fatal(err)
		}
		if res.Token.AccessToken == "" || !strings.EqualFold(res.Token.TokenType, "Bearer") || res.RefreshTokenIssued() {
			t.Errorf("token = %+v (refresh issued %v)", res.Token, res.RefreshTokenIssued())
		}
		if res.Scope() != "api.read" {
			t.Errorf("scope = %q, want the client's non-user scopes", res.Scope())
		}
	}
	tg.Clients.Other = &Client{ClientID: "demo", ClientSecret: "nope", AuthMethod: AuthClientSecretBasic}
	res, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Role: RoleOther})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Status != 401 {
		t.Errorf("bad secret: %v", err)
	}
	if res.Trace[0].OAuthError != "invalid_client" {
		t.Errorf("trace = %+v", res.Trace)
	}
}

func TestMockAuthCodeHTTPAndRefresh(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	session := NewSession()
	res, err := AuthCode(ctx, tg, AuthCodeOptions{Session: session})
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(res.Trace); !slices.Equal(got, []string{"authorize", "login", "login", "consent", "token"}) {
		t.Errorf("steps = %v", got)
	}
	a := res.Authorization
	if a.ReturnedState() != a.State || a.Response.Get("iss") != tg.Issuer || a.ResponseInFragment {
		t.Errorf("authorization response = %v (state sent %q)", a.Response, a.State)
	}
	if res.IDToken == "" || res.IDTokenClaims["nonce"] != a.Nonce || res.IDTokenClaims["iss"] != tg.Issuer {
		t.Errorf("ID token claims = %v (parse error %q)", res.IDTokenClaims, res.IDTokenParseError)
	}
	if !res.RefreshTokenIssued() || res.Consent != ConsentHTTP {
		t.Errorf("refresh token issued %v, consent %q", res.RefreshTokenIssued(), res.Consent)
	}
	if len(res.Exchanges) != len(res.Trace) || res.Exchanges[len(res.Exchanges)-1].ResponseHeader.Get("Cache-Control") != "no-store" {
		t.Errorf("exchanges: %d for %d steps", len(res.Exchanges), len(res.Trace))
	}

	// A second flow in the same session skips the login page.
	again, err := AuthCode(ctx, tg, AuthCodeOptions{Session: session, Role: RolePublic})
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(again.Trace); slices.Contains(got, "login") {
		t.Errorf("already logged in, yet steps = %v", got)
	}

	// Refresh rotates; replaying the used token is refused (reuse detection).
	old := res.Token.RefreshToken
	ref, err := Refresh(ctx, tg, RoleConfidential, old, RefreshOptions{Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if !ref.RefreshTokenIssued() || ref.Token.RefreshToken == old || ref.Scope() != "openid" {
		t.Errorf("refresh: new rt issued %v, scope %q", ref.RefreshTokenIssued(), ref.Scope())
	}
	if _, err := Refresh(ctx, tg, RoleConfidential, old, RefreshOptions{}); ErrorCode(err) != "invalid_grant" {
		t.Errorf("replayed refresh token: %v, want invalid_grant", err)
	}
}

func TestMockAuthCodeMisuse(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	res, err := AuthCode(ctx, tg, AuthCodeOptions{StopAfterAuthorization: true})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Authorization
	if res.Token != nil || a.Code() == "" || stepNames(res.Trace)[len(res.Trace)-1] != "consent" {
		t.Fatalf("stopped flow: token %v, code %q, steps %v", res.Token, a.Code(), stepNames(res.Trace))
	}
	// Another client cannot redeem it.
	_, err = ExchangeCode(ctx, tg, ExchangeOptions{Role: RoleOther, Code: a.Code(), RedirectURI: a.RedirectURI, CodeVerifier: a.CodeVerifier})
	if code := ErrorCode(err); code != "invalid_grant" && code != "invalid_client" && code != "unauthorized_client" {
		t.Errorf("code redeemed by another client: %v", err)
	}
	// A wrong verifier is refused.
	_, err = ExchangeCode(ctx, tg, ExchangeOptions{Code: a.Code(), RedirectURI: a.RedirectURI, CodeVerifier: strings.Repeat("a", 43)})
	if ErrorCode(err) != "invalid_grant" {
		t.Errorf("wrong verifier: %v", err)
	}

	// An expired code is refused: the clock moves, no sleeping.
	res, err = AuthCode(ctx, tg, AuthCodeOptions{StopAfterAuthorization: true})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tg.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	before, err := admin.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.AdvanceClock(ctx, 61*time.Second); err != nil {
		t.Fatal(err)
	}
	after, err := admin.Clock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now, err := admin.Now(ctx); err != nil || now.Before(before.Now.Add(61*time.Second)) {
		t.Errorf("Now = %v, %v; want at least %v", now, err, before.Now.Add(61*time.Second))
	}
	if after.Offset-before.Offset != 61 {
		t.Errorf("clock offset %v -> %v, want +61", before.Offset, after.Offset)
	}
	a = res.Authorization
	_, err = ExchangeCode(ctx, tg, ExchangeOptions{Code: a.Code(), RedirectURI: a.RedirectURI, CodeVerifier: a.CodeVerifier})
	if ErrorCode(err) != "invalid_grant" {
		t.Errorf("expired code: %v", err)
	}
	counters, err := admin.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counters["requests"]) == 0 {
		t.Errorf("counters = %v", counters)
	}
	rot, err := admin.RotateKeys(ctx)
	if err != nil || rot.KID == "" || rot.KID == rot.PreviousKID {
		t.Errorf("rotate: %+v, %v", rot, err)
	}
	bad := NewAdminClient(tg.Issuer, "wrong", nil)
	var ae *AdminError
	if _, err := bad.Counters(ctx); !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("wrong admin token: %v", err)
	}
}

func TestMockAuthCodeDenyAndErrors(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	res, err := AuthCode(ctx, tg, AuthCodeOptions{Deny: true})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" || oe.Params.Get("state") != res.Authorization.State {
		t.Errorf("deny: %v, params %v", err, oe)
	}
	if res.Token != nil {
		t.Error("token after deny")
	}
	if last := res.Trace[len(res.Trace)-1]; last.Name != "consent" || last.OAuthError != "access_denied" || last.Status != 303 {
		t.Errorf("last step = %+v, want the consent post answered 303 with access_denied", last)
	}

	// Unregistered redirect URI: the error page, never a redirect.
	_, err = AuthCode(ctx, tg, AuthCodeOptions{RedirectURI: "https://evil.example/cb"})
	if !errors.As(err, &oe) || !oe.ErrorPage || oe.Code == "" || oe.Status != 400 {
		t.Errorf("unregistered redirect URI: %v", err)
	}

	// Parameters can be removed: a public client without PKCE.
	_, err = AuthCode(ctx, tg, AuthCodeOptions{Role: RolePublic, NoPKCE: true})
	if ErrorCode(err) != "invalid_request" {
		t.Errorf("public client without PKCE: %v", err)
	}
	_, err = AuthCode(ctx, tg, AuthCodeOptions{Params: url.Values{"response_type": {"bogus"}}})
	if code := ErrorCode(err); code != "unsupported_response_type" && code != "invalid_request" {
		t.Errorf("bogus response_type: %v", err)
	}

	// A wrong password: the login page comes back, the flow says so.
	tg.User.Password = "wrong"
	_, err = AuthCode(ctx, tg, AuthCodeOptions{})
	var re *ResponseError
	if !errors.As(err, &re) || re.Step != "login" || !strings.Contains(re.Reason, "login refused") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestMockDevice(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	res, err := DeviceCode(ctx, tg, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.AccessToken == "" || res.Device == nil {
		t.Errorf("device result = %+v", res)
	}
	names := stepNames(res.Trace)
	if names[0] != "device_authorization" || names[len(names)-1] != "device_poll" || !slices.Contains(names, "device_verify") || !slices.Contains(names, "consent") {
		t.Errorf("steps = %v", names)
	}
	// The device code cannot be used again.
	if _, err := PollDevice(ctx, tg, RoleDevice, res.Device.DeviceCode, DeviceOptions{}); err == nil {
		t.Error("device code reused successfully")
	}

	// The split: poll before approval, then deny.
	auth, err := DeviceAuthorize(ctx, tg, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll, err := PollDevice(ctx, tg, RoleDevice, auth.Device.DeviceCode, DeviceOptions{})
	if ErrorCode(err) != "authorization_pending" || poll.Trace[0].OAuthError != "authorization_pending" {
		t.Errorf("early poll: %v", err)
	}
	if _, err := VerifyDevice(ctx, tg, auth.Device, DeviceOptions{Deny: true}); err != nil {
		t.Fatal(err)
	}
	// The provider clock moves past the interval so the poll is not slow_down.
	admin, _ := tg.AdminClient()
	if err := admin.AdvanceClock(ctx, 6*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := PollDevice(ctx, tg, RoleDevice, auth.Device.DeviceCode, DeviceOptions{}); ErrorCode(err) != "access_denied" {
		t.Errorf("denied device: %v", err)
	}
}

func TestMockLegacyGrants(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	res, err := Password(ctx, tg, PasswordOptions{})
	if err != nil || res.Token.AccessToken == "" {
		t.Fatalf("password grant: %v", err)
	}
	if _, err := Password(ctx, tg, PasswordOptions{Password: "nope"}); ErrorCode(err) != "invalid_grant" {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Password(ctx, tg, PasswordOptions{Role: RoleConfidential}); ErrorCode(err) != "unauthorized_client" {
		t.Errorf("password for a client not allowed it: %v", err)
	}

	imp, err := Implicit(ctx, tg, ImplicitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !imp.Authorization.ResponseInFragment || imp.Token.AccessToken == "" || imp.RefreshTokenIssued() {
		t.Errorf("implicit: fragment %v, token %+v", imp.Authorization.ResponseInFragment, imp.Token)
	}
	if n, ok := imp.ExpiresIn(); !ok || n <= 0 {
		t.Errorf("implicit expires_in = %d, %v", n, ok)
	}
	if _, err := Implicit(ctx, tg, ImplicitOptions{Role: RoleConfidential}); err == nil {
		t.Error("implicit for a client not allowed it succeeded")
	}
}

func TestClientCredentialsUsesTheServiceClientWhenTheProfileHasOne(t *testing.T) {
	tg := startMock(t)
	ctx := context.Background()
	if tg.ServiceRole() != RoleConfidential {
		t.Fatalf("without a service client: ServiceRole = %q, want confidential", tg.ServiceRole())
	}
	// A service client with a wrong secret: the default role must now be it,
	// so the request fails where the confidential client's would succeed.
	tg.Clients.Service = &Client{ClientID: "demo", ClientSecret: "not-the-secret", AuthMethod: AuthClientSecretBasic, Scopes: []string{"api.read"}}
	if tg.ServiceRole() != RoleService {
		t.Fatalf("with a service client: ServiceRole = %q, want service", tg.ServiceRole())
	}
	_, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{})
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" {
		t.Fatalf("client credentials did not use the service client: %v", err)
	}
	tg.Clients.Service.ClientSecret = "demo-secret"
	if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{}); err != nil {
		t.Fatalf("service client with the right secret: %v", err)
	}
}
