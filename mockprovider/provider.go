package mockprovider

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// Provider is the mock authorization server: an http.Handler serving the
// endpoints of docs/mockprovider.md. All its state lives in the instance.
type Provider struct {
	cfg    Config
	issuer string
	clock  Clock
	// offset is how far the admin API has moved the clock, in nanoseconds.
	offset     atomic.Int64
	adminToken string
	log        *slog.Logger
	initialKey crypto.Signer

	keys *keySet
	// clientReg holds the configured and the registered clients (clients.go).
	clientReg clientRegistry
	users     map[string]*User
	// scopeBits numbers the configured scopes for scopeSet.
	scopeBits map[string]uint
	// nextFamily numbers grants (token families).
	nextFamily atomic.Uint64
	// csrfKey signs the CSRF tokens of the pages (HMAC of a browser cookie).
	csrfKey []byte
	// metadata is the discovery document, rendered once; metadataMismatch
	// is the metadata_issuer_mismatch defect's copy.
	metadata         []byte
	metadataMismatch []byte
	// metadataOtherAlg advertises the signing algorithm the provider does not
	// use (the unadvertised_alg defect).
	metadataOtherAlg []byte

	store    *store
	counters counters
	// metrics serves GET /metrics from a registry of the provider's own.
	metrics http.Handler
	// defects in force; replaced whole by SetDefects.
	defects atomic.Pointer[activeDefects]
	// faults in force; replaced whole by SetFaults.
	faults      atomic.Pointer[activeFaults]
	extraFaults []Fault
	// rp holds the `grantbench rp` stimuli and observations (rp.go).
	rp rpState
	// assertionReplay holds the jti of accepted assertions (assertion.go).
	assertionReplay replayCache
	// trustedIssuers sign jwt-bearer grant assertions, by iss (token_jwtbearer.go).
	trustedIssuers map[string]*TrustedIssuer
	// overrides are the claims overrides in force (claims.go).
	overrides overrideSet

	// basePath is the path of an issuer with one ("/tenant"), cookieSuffix
	// the suffix its cookie names get; issuers are the further issuers of
	// Config.Issuers by id (issuers.go).
	basePath     string
	cookieSuffix string
	issuers      map[string]*Provider
}

// Option configures a Provider; an invalid option makes New fail.
type Option func(*Provider) error

// WithClock makes the provider read time from c (default: the system clock).
func WithClock(c Clock) Option {
	return func(p *Provider) error {
		if c == nil {
			return errors.New("mockprovider: WithClock: nil clock")
		}
		p.clock = c
		return nil
	}
}

// WithAdminToken turns the admin API on under /admin/, guarded by
// "Authorization: Bearer token". The token must be at least 8 characters.
func WithAdminToken(token string) Option {
	return func(p *Provider) error {
		if len(token) < 8 {
			return errors.New("mockprovider: WithAdminToken: the admin token must be at least 8 characters")
		}
		p.adminToken = token
		return nil
	}
}

// WithLogger sends the provider's logs to l (default: discarded). Logs
// never hold a token, code, secret or password.
func WithLogger(l *slog.Logger) Option {
	return func(p *Provider) error {
		if l == nil {
			return errors.New("mockprovider: WithLogger: nil logger")
		}
		p.log = l
		return nil
	}
}

// WithSigningKey makes key (an *rsa.PrivateKey of at least 2048 bits for
// RS256, an *ecdsa.PrivateKey on P-256 for ES256) the first signing key
// instead of a freshly generated one. Keys made by a rotation are generated.
func WithSigningKey(key crypto.Signer) Option {
	return func(p *Provider) error {
		if key == nil {
			return errors.New("mockprovider: WithSigningKey: nil key")
		}
		p.initialKey = key
		return nil
	}
}

// New builds a provider from a validated configuration. cfg.Issuer is
// required: it is the base URL the provider is served at.
func New(cfg Config, opts ...Option) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		return nil, fieldErr("issuer", "required: the base URL the provider is served at")
	}
	cfg = cfg.withProfile()
	p := &Provider{
		cfg:    cfg,
		issuer: cfg.Issuer,
		clock:  systemClock{},
		log:    slog.New(slog.DiscardHandler),
	}
	p.counters = newCounters()
	if err := p.setBasePath(); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	var err error
	if p.keys, err = newKeySet(cfg.SigningAlg, p.initialKey); err != nil {
		return nil, err
	}
	clients := make([]*Client, 0, len(cfg.Clients))
	for i := range cfg.Clients {
		c := cfg.Clients[i] // a copy: the caller's config stays theirs
		prepareClient(&c)
		if cfg.Profile == ProfileFAPI2 && c.TokenEndpointAuthMethod == AuthPrivateKeyJWT {
			c.assertionKeys.algs = fapi2AssertionAlgs
		}
		if err := prepareClientClaims(&c); err != nil {
			return nil, fieldErr(fmt.Sprintf("clients[%d]", i), "claims: %v", err)
		}
		clients = append(clients, &c)
	}
	p.clientReg.init(clients)
	p.trustedIssuers = prepareTrustedIssuers(cfg.TrustedIssuers)
	p.scopeBits = make(map[string]uint, len(cfg.Scopes))
	for i, s := range cfg.Scopes {
		p.scopeBits[s] = uint(i)
	}
	p.users = make(map[string]*User, len(cfg.Users))
	for i := range cfg.Users {
		u := cfg.Users[i]
		if err := prepareUser(&u); err != nil {
			return nil, fieldErr(fmt.Sprintf("users[%d].claims", i), "%v", err)
		}
		p.users[u.Username] = &u
	}
	p.csrfKey = make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, p.csrfKey); err != nil {
		return nil, fmt.Errorf("mockprovider: csrf key: %w", err)
	}
	if p.metadata, err = p.renderMetadata(p.issuer, cfg.SigningAlg); err != nil {
		return nil, err
	}
	if p.metadataMismatch, err = p.renderMetadata(p.issuer+"/", cfg.SigningAlg); err != nil {
		return nil, err
	}
	otherAlg := AlgES256
	if cfg.SigningAlg == AlgES256 {
		otherAlg = AlgRS256
	}
	if p.metadataOtherAlg, err = p.renderMetadata(p.issuer, otherAlg); err != nil {
		return nil, err
	}
	settings := DefectSettings{Provider: slices.Clone(cfg.Defects), Clients: map[string][]string{}}
	for _, c := range cfg.Clients {
		if len(c.Defects) > 0 {
			settings.Clients[c.ID] = slices.Clone(c.Defects)
		}
	}
	if err := p.SetDefects(settings); err != nil {
		return nil, err
	}
	if err := p.SetFaults(append(slices.Clone(cfg.Faults), p.extraFaults...)); err != nil {
		return nil, err
	}
	p.store = newStore(cfg.Limits.MaxStateBytes)
	if p.metrics, err = newMetricsHandler(p); err != nil {
		return nil, fmt.Errorf("mockprovider: metrics: %w", err)
	}
	if err := p.newIssuers(opts); err != nil {
		return nil, err
	}
	return p, nil
}

// Issuer is the provider's issuer identifier (its base URL).
func (p *Provider) Issuer() string { return p.issuer }

// Config returns the configuration the provider runs with.
func (p *Provider) Config() Config { return p.cfg }

// now is the provider's time: the clock plus what the admin API added.
func (p *Provider) now() time.Time {
	return p.clock.Now().Add(time.Duration(p.offset.Load()))
}

// ServeHTTP routes a request to its endpoint, under the endpoint's fault
// if one is set.
func (p *Provider) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if p.basePath != "" || p.issuers != nil {
		if r = p.dispatch(rw, r); r == nil {
			return
		}
	}
	endpoint, handler := p.route(r.URL.Path)
	p.counters.countRequest(endpoint)
	w := &countingWriter{ResponseWriter: rw}
	defer p.countOutcome(endpoint, w, r)
	defer p.recoverPanic(w, r) // runs first: what it answers is counted
	if len(r.TransferEncoding) > 0 || !r.ProtoAtLeast(1, 1) {
		// RFC 9112 6.1: a request with both Content-Length and
		// Transfer-Encoding (or an HTTP/1.0 one with Transfer-Encoding) may
		// be a smuggling attempt, and the server must close the connection
		// after answering it. net/http drops both headers before the handler
		// sees them, so every chunked and every HTTP/1.0 request closes its
		// connection: browsers and OAuth clients send form bodies with a
		// Content-Length over HTTP/1.1 and lose nothing.
		w.Header().Set("Connection", "close")
	}
	if endpoint == endpointAdmin || endpoint == endpointMetrics {
		handler(w, r) // faults never block the admin API that lifts them, nor monitoring
		return
	}
	if f := p.faults.Load().byEndpoint[endpoint]; f != nil {
		p.serveFaulty(f, handler, w, r)
		return
	}
	handler(w, r)
}

func (p *Provider) route(path string) (int, http.HandlerFunc) {
	switch path {
	case "/token":
		return endpointToken, p.handleToken
	case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
		return endpointDiscovery, p.handleDiscovery
	case "/jwks":
		return endpointJWKS, p.handleJWKS
	case "/authorize":
		return endpointAuthorize, p.handleAuthorize
	case "/login":
		return endpointLogin, p.handleLogin
	case "/consent":
		return endpointConsent, p.handleConsent
	case "/device_authorization":
		return endpointDeviceAuthorization, p.handleDeviceAuthorization
	case "/device":
		return endpointDevice, p.handleDevicePage
	case "/introspect":
		return endpointIntrospect, p.handleIntrospect
	case "/revoke":
		return endpointRevoke, p.handleRevoke
	case "/userinfo":
		return endpointUserinfo, p.handleUserinfo
	case "/end_session":
		return endpointEndSession, p.handleEndSession
	case "/register":
		return endpointRegister, p.handleRegister
	case "/par":
		return endpointPAR, p.handlePAR
	case "/metrics":
		return endpointMetrics, p.metrics.ServeHTTP
	}
	if strings.HasPrefix(path, "/admin/") {
		return endpointAdmin, p.handleAdmin
	}
	return endpointOther, http.NotFound
}

// badInputPanic is the crash of the panic_on_bad_input defect.
type badInputPanic struct{ reason string }

func (b badInputPanic) String() string { return "panic_on_bad_input: " + b.reason }

// recoverPanic turns a handler's panic into a 500 server_error, so a bug of
// the mock's costs one request rather than the connection. The crash of the
// panic_on_bad_input defect (and net/http's own ErrAbortHandler) goes on to
// net/http, which logs it and drops the connection: the failure mode the
// defect stands for.
func (p *Provider) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if _, crash := v.(badInputPanic); crash || v == http.ErrAbortHandler {
		panic(v)
	}
	p.log.Error("handler panic, answered 500", "path", truncate(r.URL.Path, 60), "panic", truncate(fmt.Sprint(v), 200))
	p.writeJSONError(w, &oauthError{code: oauth.ServerError, description: "internal error", status: http.StatusInternalServerError})
}

// methodNotAllowed answers a wrong method with 405, Allow and a JSON error.
func (p *Provider) methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	p.writeJSONError(w, &oauthError{code: oauth.InvalidRequest, description: "method not allowed; use " + allow, status: http.StatusMethodNotAllowed})
}
