package flows

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

func TestClientCredentialsFake(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	res, err := ClientCredentials(context.Background(), tg, ClientCredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.AccessToken == "" || res.Token.TokenType != "Bearer" {
		t.Errorf("token = %+v", res.Token)
	}
	if got := f.lastForm.Get("scope"); got != "api.read" {
		t.Errorf("scope sent = %q, want the client's non-user scopes", got)
	}
	if f.lastBasic != [2]string{"app", "s3cret"} {
		t.Errorf("Basic auth = %q, want the client's credentials", f.lastBasic)
	}
	if n, ok := res.ExpiresIn(); !ok || n != 300 {
		t.Errorf("ExpiresIn = %d, %v", n, ok)
	}
	if len(res.Trace) != 1 || res.Trace[0].Name != "token" || res.Trace[0].Status != 200 || res.Trace[0].End.Before(res.Trace[0].Start) {
		t.Errorf("trace = %+v", res.Trace)
	}
	if len(res.Exchanges) != 1 || res.Exchanges[0].Method != http.MethodPost || res.Exchanges[0].ResponseHeader.Get("Cache-Control") != "no-store" ||
		res.Exchanges[0].RequestBody == "" {
		t.Errorf("exchanges = %+v", res.Exchanges)
	}
	if res.RefreshTokenIssued() {
		t.Error("RefreshTokenIssued = true for a response without one")
	}
	if res.Flow != FlowClientCredentials || res.Role != RoleConfidential || res.Duration() <= 0 {
		t.Errorf("result header = %q %q %v", res.Flow, res.Role, res.Duration())
	}
}

func TestClientCredentialsRecordTraceSkipsBodies(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	res, err := ClientCredentials(context.Background(), tg, ClientCredentialsOptions{Record: RecordTrace, Scopes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Exchanges) != 0 || len(res.Trace) != 1 {
		t.Errorf("RecordTrace kept %d exchanges and %d steps, want 0 and 1", len(res.Exchanges), len(res.Trace))
	}
	if _, sent := f.lastForm["scope"]; sent {
		t.Error("empty Scopes still sent a scope")
	}
}

func TestTokenErrorsAreTyped(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	tg.Clients.Confidential.ClientSecret = "wrong"
	for _, mode := range []RecordMode{RecordAll, RecordTrace} {
		res, err := ClientCredentials(context.Background(), tg, ClientCredentialsOptions{Record: mode})
		var oe *OAuthError
		if !errors.As(err, &oe) {
			t.Fatalf("error = %v, want *OAuthError", err)
		}
		if oe.Code != "invalid_client" || oe.Status != 401 || oe.Step != "token" || oe.Description != "bad credentials" {
			t.Errorf("OAuthError = %+v", oe)
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("errors.As(*oauth2.RetrieveError) failed or lost the response: %v", err)
		}
		if ErrorCode(err) != "invalid_client" {
			t.Errorf("ErrorCode = %q", ErrorCode(err))
		}
		if res == nil || len(res.Trace) != 1 || res.Trace[0].OAuthError != "invalid_client" || res.Token != nil {
			t.Errorf("mode %d: result on error = %+v", mode, res)
		}
	}
}

func TestTransportErrorIsTyped(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	if err := tg.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A closed port: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/token"
	ln.Close()
	tg.Metadata.TokenEndpoint = dead
	res, err := ClientCredentials(context.Background(), tg, ClientCredentialsOptions{Record: RecordTrace})
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want *TransportError", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("TransportError does not wrap the dial error: %v", err)
	}
	if len(res.Trace) != 1 || res.Trace[0].Status != 0 || res.Trace[0].Err == "" {
		t.Errorf("trace = %+v", res.Trace)
	}
}

func TestRefreshRotates(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	res, err := Refresh(context.Background(), tg, RoleConfidential, "rt-0", RefreshOptions{Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.RefreshTokenIssued() || res.Token.RefreshToken == "rt-0" {
		t.Errorf("refresh token %q, issued %v: want a rotated one", res.Token.RefreshToken, res.RefreshTokenIssued())
	}
	if f.lastForm.Get("scope") != "openid" || f.lastForm.Get("grant_type") != "refresh_token" {
		t.Errorf("form sent = %v", f.lastForm)
	}
	if res.Trace[0].Name != "refresh" {
		t.Errorf("step = %q, want refresh", res.Trace[0].Name)
	}
	_, err = Refresh(context.Background(), tg, RoleConfidential, "rt-0", RefreshOptions{})
	if ErrorCode(err) != "invalid_grant" {
		t.Errorf("replayed refresh: error %v, want invalid_grant", err)
	}
}

func TestPassword(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	res, err := Password(context.Background(), tg, PasswordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.AccessToken != "at-pw" || f.lastForm.Get("client_secret") != "pw" {
		t.Errorf("token %+v, form %v (legacy client posts its secret)", res.Token, f.lastForm)
	}
	_, err = Password(context.Background(), tg, PasswordOptions{Password: "wrong"})
	if ErrorCode(err) != "invalid_grant" {
		t.Errorf("wrong password: %v, want invalid_grant", err)
	}
}

func TestTokenRequestUnknownGrant(t *testing.T) {
	f := newFakeProvider(t)
	res, err := TokenRequest(context.Background(), f.target(), TokenRequestOptions{GrantType: "urn:example:nope"})
	if ErrorCode(err) != "unsupported_grant_type" {
		t.Errorf("error = %v, want unsupported_grant_type", err)
	}
	if f.lastForm.Get("grant_type") != "urn:example:nope" || res.Trace[0].OAuthError != "unsupported_grant_type" {
		t.Errorf("form %v trace %+v", f.lastForm, res.Trace)
	}
}

func TestMissingClient(t *testing.T) {
	f := newFakeProvider(t)
	res, err := ClientCredentials(context.Background(), f.target(), ClientCredentialsOptions{Role: RoleDevice})
	var mc *MissingClientError
	if !errors.As(err, &mc) || res == nil {
		t.Errorf("error = %v, result %v; want *MissingClientError and a result", err, res)
	}
}

func TestDeviceAuthorizeAuthenticatesConfidentialClients(t *testing.T) {
	f := newFakeProvider(t)
	tg := f.target()
	tg.Clients.Device = &Client{ClientID: "dev ice", ClientSecret: "s:e", AuthMethod: AuthClientSecretBasic}
	res, err := DeviceAuthorize(context.Background(), tg, DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// RFC 6749 2.3.1: Basic carries the form-encoded id and secret.
	if f.lastBasic != [2]string{"dev+ice", "s%3Ae"} || f.lastForm.Has("client_secret") {
		t.Errorf("basic client: Basic %q, form %v", f.lastBasic, f.lastForm)
	}
	if res.Device.DeviceCode != "dc" || res.Trace[0].Name != "device_authorization" {
		t.Errorf("device response %+v, trace %+v", res.Device, res.Trace)
	}
	tg.Clients.Device = &Client{ClientID: "dev", ClientSecret: "pw", AuthMethod: AuthClientSecretPost}
	if _, err := DeviceAuthorize(context.Background(), tg, DeviceOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.lastBasic[0] != "" || f.lastForm.Get("client_secret") != "pw" || f.lastForm.Get("client_id") != "dev" {
		t.Errorf("post client: Basic %q, form %v", f.lastBasic, f.lastForm)
	}
}

func TestTargetBuiltInCodeGetsDefaults(t *testing.T) {
	f := newFakeProvider(t)
	tg := &Target{Issuer: f.srv.URL, Clients: Clients{Confidential: &Client{ClientID: "app", ClientSecret: "s3cret"}}}
	if _, err := ClientCredentials(context.Background(), tg, ClientCredentialsOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.lastBasic != [2]string{"app", "s3cret"} || f.lastForm.Has("client_secret") {
		t.Errorf("a client with a secret and no auth_method: Basic %q, form %v; want client_secret_basic", f.lastBasic, f.lastForm)
	}
	if got := tg.Browser.withDefaults(); got != DefaultSelectors() {
		t.Errorf("selectors = %+v, want the defaults", got)
	}
}

func TestHTTPConsentJSONErrorIsOAuthError(t *testing.T) {
	f := newFakeProvider(t) // its /authorize is unknown: add a JSON error there
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "redirect_uri not registered"})
	})
	mux.Handle("/", f.srv.Config.Handler)
	f.srv.Config.Handler = mux
	tg := f.target()
	tg.Clients.Confidential.RedirectURI = "http://127.0.0.1/cb"
	res, err := AuthCode(context.Background(), tg, AuthCodeOptions{})
	var oe *OAuthError
	if !errors.As(err, &oe) || !oe.ErrorPage || oe.Code != "invalid_request" || oe.Status != 400 || oe.Description == "" {
		t.Errorf("error = %v", err)
	}
	if len(res.Trace) != 1 || res.Trace[0].OAuthError != "invalid_request" {
		t.Errorf("trace = %+v", res.Trace)
	}
}
