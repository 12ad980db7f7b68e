package mockprovider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server is a provider listening on a local address, as StartLocal returns it.
type Server struct {
	provider *Provider
	issuer   string
	listener net.Listener
	http     *http.Server
	done     chan struct{}
	serveErr error

	closeOnce sync.Once
	closeErr  error

	// silent holds the connections that have sent nothing yet, with when
	// they opened (see dropSilentConns).
	silentMu sync.Mutex
	silent   map[net.Conn]time.Time
	// silentCount is len(silent), read without the lock so that requests on
	// connections that have spoken (all of them, under load) skip it.
	silentCount atomic.Int64
}

// ListenError means the server could not listen on Addr: the port is in
// use, the address is not this host's, a low port needs privileges.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		return fmt.Sprintf("mockprovider: listen on %s: the address is in use (another process listens there; choose another port, or 0 for any free one)", e.Addr)
	}
	return fmt.Sprintf("mockprovider: listen on %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// TLSConfig turns on HTTPS for StartLocalTLS.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files; leave both empty with SelfSigned.
	CertFile string
	KeyFile  string
	// SelfSigned generates a certificate for the listening address at start.
	SelfSigned bool
}

// StartLocal listens on addr ("127.0.0.1:0" for an ephemeral port), sets
// cfg.Issuer to the base URL when it is empty, and serves the provider until
// Close or until ctx is done.
func StartLocal(ctx context.Context, addr string, cfg Config, opts ...Option) (*Server, error) {
	return StartLocalTLS(ctx, addr, cfg, nil, opts...)
}

// StartLocalTLS is StartLocal over HTTPS when tlsCfg is not nil.
func StartLocalTLS(ctx context.Context, addr string, cfg Config, tlsCfg *TLSConfig, opts ...Option) (*Server, error) {
	var certs []tls.Certificate
	if tlsCfg != nil {
		cert, err := loadOrMakeCert(tlsCfg, addr)
		if err != nil {
			return nil, err
		}
		certs = []tls.Certificate{cert}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, &ListenError{Addr: addr, Err: err}
	}
	scheme := "http"
	if certs != nil {
		scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12})
	}
	if cfg.Issuer == "" {
		cfg.Issuer = scheme + "://" + issuerHost(ln.Addr())
	}
	p, err := New(cfg, opts...)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s := &Server{
		provider: p,
		issuer:   cfg.Issuer,
		listener: ln,
		http: &http.Server{
			Handler:           dispatchCounter{p},
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    32 << 10,
			// net/http's own messages (a crashed handler's stack under the
			// panic_on_bad_input defect, TLS handshake errors) go to the
			// provider's logger, not to stderr.
			ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelError),
		},
		done:   make(chan struct{}),
		silent: map[net.Conn]time.Time{},
	}
	s.http.ConnState = s.connState
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// issuerHost renders a listening address for a URL: an unspecified address
// becomes 127.0.0.1, IPv6 gets brackets.
func issuerHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// Issuer is the base URL the server answers at.
func (s *Server) Issuer() string { return s.issuer }

// Provider is the handler being served, e.g. for its admin methods in tests.
func (s *Server) Provider() *Provider { return s.provider }

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// dispatchCounter counts the requests net/http hands the provider, to tell
// them from the ones it started to read (connState): the difference is what
// net/http refused or cut by itself.
type dispatchCounter struct{ p *Provider }

func (d dispatchCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.p.counters.serverDispatched.Add(1)
	d.p.ServeHTTP(w, r)
}

// connState counts every request net/http starts to read (a connection turns
// active once it has read a byte of one) and tracks the silent connections.
func (s *Server) connState(c net.Conn, state http.ConnState) {
	if state == http.StateActive {
		s.provider.counters.serverRead.Add(1)
	}
	s.trackSilent(c, state)
}

// trackSilent keeps the set of connections that have sent nothing yet.
func (s *Server) trackSilent(c net.Conn, state http.ConnState) {
	// A connection's StateNew happens before its other states, so a zero
	// count means c is not in the set.
	if state != http.StateNew && s.silentCount.Load() == 0 {
		return
	}
	s.silentMu.Lock()
	defer s.silentMu.Unlock()
	if state == http.StateNew {
		s.silent[c] = time.Now()
		s.silentCount.Add(1)
	} else if _, ok := s.silent[c]; ok {
		delete(s.silent, c)
		s.silentCount.Add(-1)
	}
}

// silentGrace is how long a connection may stay silent during Close before it
// is dropped: long enough for a request already on its way to arrive.
const silentGrace = 500 * time.Millisecond

// dropSilentConns closes, until stop, the connections that have sent nothing
// for silentGrace. http.Server.Shutdown waits 5 s for such connections in case
// a request is coming, and browsers open them ahead of use: without this,
// every Close after a browser visited took 5 s.
func (s *Server) dropSilentConns(stop <-chan struct{}) {
	tick := time.NewTicker(silentGrace / 5)
	defer tick.Stop()
	for {
		s.silentMu.Lock()
		for c, since := range s.silent {
			if time.Since(since) >= silentGrace {
				c.Close()
				delete(s.silent, c)
				s.silentCount.Add(-1)
			}
		}
		s.silentMu.Unlock()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// Close stops the server, waiting up to 5 seconds for requests in flight.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopDropping := make(chan struct{})
		defer close(stopDropping)
		go s.dropSilentConns(stopDropping)
		if err := s.http.Shutdown(ctx); err != nil {
			s.closeErr = errors.Join(err, s.http.Close())
		}
		<-s.done
		if s.serveErr != nil {
			s.closeErr = errors.Join(s.closeErr, s.serveErr)
		}
	})
	return s.closeErr
}

func loadOrMakeCert(c *TLSConfig, addr string) (tls.Certificate, error) {
	switch {
	case c.SelfSigned && (c.CertFile != "" || c.KeyFile != ""):
		return tls.Certificate{}, fieldErr("tls", "choose certificate files or self-signed, not both")
	case c.SelfSigned:
		return selfSignedCert(addr)
	case c.CertFile == "" || c.KeyFile == "":
		return tls.Certificate{}, fieldErr("tls", "both a certificate and a key file are needed")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return tls.Certificate{}, fieldErr("tls", "%v", err)
	}
	return cert, nil
}

// selfSignedCert makes a one-day certificate for localhost, the loopback
// addresses and the host of addr.
func selfSignedCert(addr string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "grantbench mock provider"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mockprovider: self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
