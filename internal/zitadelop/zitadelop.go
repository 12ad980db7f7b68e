// Package zitadelop runs zitadel/oidc's example OpenID Provider (v3, the
// example/server/exampleop and example/server/storage packages) on a listener
// of its own on 127.0.0.1, so grantbench's suites can be pointed at a real
// third-party implementation without running the example's main, which listens
// on every interface.
//
// The provider is the example's code unchanged: its router, login page, device
// pages and in-memory storage. This package only chooses the issuer (exactly
// the loopback base URL, no trailing slash) and which clients the storage
// holds, using the storage package's own client constructors, so what the
// suites observe is zitadel's behaviour.
package zitadelop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The clients and the user the provider knows. Secrets are test fixtures of a
// loopback-only provider, not credentials.
const (
	// WebClientID is a confidential web client (client_secret_basic; code,
	// refresh_token and token exchange grants; response types code,
	// "id_token token" and id_token) built by storage.WebClient. Its redirect
	// URIs are matched exactly, so they must be given to Start.
	WebClientID     = "web"
	WebClientSecret = "secret"

	// OtherClientID is a second confidential web client with the same shape as
	// WebClientID, for the checks that need a token to cross clients.
	OtherClientID     = "api"
	OtherClientSecret = "api-secret"

	// NativeClientID is a public native client (auth method none, PKCE) built
	// by storage.NativeClient. Its loopback redirect URIs match on any port
	// (RFC 8252 7.3): only scheme, host kind, path and query are compared.
	NativeClientID = "native"

	// DeviceClientID is a device-code client (client_secret_basic) built by
	// storage.DeviceClient.
	DeviceClientID     = "device"
	DeviceClientSecret = "device-secret"

	// ServiceClientID and ServiceClientSecret are the client_credentials
	// service user hard-coded in zitadel's storage.NewStorageWithClients.
	ServiceClientID     = "sid1"
	ServiceClientSecret = "verysecret"

	// Username and Password are a test user hard-coded in storage.NewUserStore.
	Username = "test-user2"
	Password = "verysecure"

	// DefaultNativeRedirectURI is the native client's registered redirect URI
	// when Config.NativeRedirectURIs is empty; any port on 127.0.0.1 matches it.
	DefaultNativeRedirectURI = "http://127.0.0.1/callback"
)

// Config chooses the redirect URIs registered for the clients. The zero value
// registers DefaultNativeRedirectURI for the native client and none for the
// web clients (whose code flows then fail with invalid_request).
type Config struct {
	// WebRedirectURIs are registered for WebClientID and OtherClientID. The
	// example registers them with storage.WebClient, which matches them
	// exactly (port included).
	WebRedirectURIs []string
	// NativeRedirectURIs are registered for NativeClientID.
	NativeRedirectURIs []string
}

// Server is a running example OP. Its methods are safe for concurrent use.
type Server struct {
	// Issuer is the provider's issuer and base URL, http://127.0.0.1:PORT.
	Issuer string

	httpServer *http.Server
	served     chan error
	closeOnce  sync.Once
	closeErr   error
	stopWatch  chan struct{}
	stopped    chan struct{}
}

// shutdownTimeout bounds how long Close waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Start serves the example OP on 127.0.0.1 on a free port until Close is
// called or ctx is done.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zitadelop: %w", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("zitadelop: listen on 127.0.0.1: %w", err)
	}
	issuer := "http://" + listener.Addr().String()

	nativeRedirects := cfg.NativeRedirectURIs
	if len(nativeRedirects) == 0 {
		nativeRedirects = []string{DefaultNativeRedirectURI}
	}
	// NewStorageWithClients keeps the clients in this instance; the
	// package's RegisterClients would write to a process-wide map.
	clients := map[string]*storage.Client{}
	for _, client := range []*storage.Client{
		storage.WebClient(WebClientID, WebClientSecret, nonEmpty(cfg.WebRedirectURIs)...),
		storage.WebClient(OtherClientID, OtherClientSecret, nonEmpty(cfg.WebRedirectURIs)...),
		storage.NativeClient(NativeClientID, nativeRedirects...),
		storage.DeviceClient(DeviceClientID, DeviceClientSecret),
	} {
		clients[client.GetID()] = client
	}
	store := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)

	// A nil logger keeps SetupServer from replacing the process-wide slog
	// default; wrapServer=false mounts the provider as the example's main does.
	router := exampleop.SetupServer(issuer, store, nil, false)

	s := &Server{
		Issuer: issuer,
		httpServer: &http.Server{
			Handler:           router,
			ReadHeaderTimeout: 10 * time.Second,
		},
		served:    make(chan error, 1),
		stopWatch: make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	go func() { s.served <- s.httpServer.Serve(listener) }()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.stopWatch:
		}
	}()
	return s, nil
}

// nonEmpty returns uris, or one URI nothing can match when uris is empty:
// storage.WebClient substitutes http://localhost:9999/auth/callback for an
// empty list, and a port nobody chose must not become a registered redirect.
func nonEmpty(uris []string) []string {
	if len(uris) == 0 {
		return []string{"https://redirect-uri.invalid/unregistered"}
	}
	return uris
}

// Done is closed once the server has stopped, by Close or by Start's context.
func (s *Server) Done() <-chan struct{} { return s.stopped }

// Close stops the server, waiting up to a few seconds for requests in flight.
// Calling it again returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopWatch)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := s.httpServer.Shutdown(ctx)
		if serveErr := <-s.served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("zitadelop: close: %w", err)
		}
		close(s.stopped)
	})
	return s.closeErr
}
