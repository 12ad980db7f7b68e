package flows

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// startZitadel serves zitadel/oidc's example OP (a third-party provider with its
// own login and device pages) on 127.0.0.1 and returns the target described by
// examples/targets/zitadel.yaml.
func startZitadel(t *testing.T) *Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	// zitadel matches a web client's redirect URI exactly, port included: take
	// a free port for the callback listener now.
	cbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", cbLn.Addr().(*net.TCPAddr).Port)
	cbLn.Close()
	clients := map[string]*storage.Client{}
	for _, c := range []*storage.Client{
		storage.WebClient("web", "secret", redirect),
		storage.WebClient("api", "api-secret", redirect),
		storage.NativeClient("native", "http://127.0.0.1/callback"),
		storage.DeviceClient("device", "device-secret"),
	} {
		clients[c.GetID()] = c
	}
	store := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	srv := &http.Server{Handler: exampleop.SetupServer(issuer, store, nil, false), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	t.Setenv("ZITADEL_ISSUER", issuer)
	t.Setenv("ZITADEL_WEB_REDIRECT_URI", redirect)
	tg, err := LoadTarget(filepath.Join("..", "examples", "targets", "zitadel.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.CloseIdleConnections)
	if err := tg.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestZitadelHTTPConsent: the browserless driver gets through a third-party
// login page (no ids on the form, no consent page) to the code.
func TestZitadelHTTPConsent(t *testing.T) {
	tg := startZitadel(t)
	res, err := AuthCode(context.Background(), tg, AuthCodeOptions{Consent: ConsentHTTP})
	if err != nil {
		t.Fatalf("%v (steps %v)", err, stepNames(res.Trace))
	}
	if res.Token.AccessToken == "" || res.IDTokenClaims["nonce"] != res.Authorization.Nonce {
		t.Errorf("token %+v, claims %v", res.Token, res.IDTokenClaims)
	}
	if got := stepNames(res.Trace); !slices.Contains(got, "login") || slices.Contains(got, "consent") || got[len(got)-1] != "token" {
		t.Errorf("steps = %v, want a login, no consent, then the token", got)
	}
}

// zitadelBrowserFlows runs the code and device flows in Chromium against
// zitadel's example pages, driven only by the profile's selectors.
func zitadelBrowserFlows(t *testing.T, b *Browser) {
	tg := startZitadel(t)
	ctx := context.Background()
	res, err := AuthCode(ctx, tg, AuthCodeOptions{Browser: b})
	if err != nil {
		t.Fatalf("code flow: %v (steps %v, screenshots %v)", err, stepNames(res.Trace), res.Screenshots)
	}
	if got := stepNames(res.Trace); !slices.Equal(got, []string{"authorize", "login", "token"}) {
		t.Errorf("code flow steps = %v (no consent page at zitadel's example)", got)
	}
	// The user's part (code page, login, confirmation, done page) completes in
	// the browser. The example then cannot issue the token: its device login
	// stores the username as the subject (exampleop/device.go loginHandler ->
	// storage.CompleteDeviceAuthorization), and token creation looks users up by
	// id, so v3.52.0 answers 500 server_error "user not found". That is the
	// provider's behaviour, reported by the D1 check; accept it or a fixed OP.
	dev, err := DeviceCode(ctx, tg, DeviceOptions{Browser: b})
	want := []string{"device_authorization", "device_verify", "login", "consent", "device_poll"}
	if got := stepNames(dev.Trace); !slices.Equal(got, want) {
		t.Fatalf("device steps = %v, want %v (error %v, screenshots %v)", got, want, err, dev.Screenshots)
	}
	var oe *OAuthError
	switch {
	case err == nil && dev.Token.AccessToken != "":
	case errors.As(err, &oe) && oe.Status == http.StatusInternalServerError && oe.Code == "server_error":
	default:
		t.Errorf("device flow: %v", err)
	}
}
