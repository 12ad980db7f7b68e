package goapp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Cookie names and lifetimes.
const (
	loginCookie   = "goapp_login"   // the pending login (state, nonce, verifier live server-side)
	sessionCookie = "goapp_session" // the logged-in session
	loginLifetime = 10 * time.Minute
	sessionLife   = time.Hour
	maxEntries    = 10000 // bounds the pending-login and session maps
)

// fixedState is what fixed_state sends on every login.
const fixedState = "goapp-fixed-state"

// Server is the example application: an http.Handler serving /healthz,
// /login, /callback and /me. Safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	mux    *http.ServeMux

	discoverMu sync.Mutex
	disc       *discovered // nil until discovery succeeded

	mu       sync.Mutex
	pending  map[string]pendingLogin
	sessions map[string]session
	replays  map[string]session // replayable_callback: code -> who it logged in
}

// discovered is what the app learnt from the provider's metadata.
type discovered struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *idTokenVerifier
	// issParam is authorization_response_iss_parameter_supported (RFC 9207 3).
	issParam bool
}

type pendingLogin struct {
	state, nonce, verifier string
	expires                time.Time
}

type session struct {
	name    string // preferred_username, else sub
	expires time.Time
}

// New returns the application for cfg. Discovery happens at the first login
// (and again after a failed one), so the app is ready before its provider.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TokenTimeout == 0 {
		cfg.TokenTimeout = DefaultTokenTimeout
	}
	if cfg.Bugs == nil {
		cfg.Bugs = BugSet{}
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		client:   cfg.HTTPClient,
		mux:      http.NewServeMux(),
		pending:  map[string]pendingLogin{},
		sessions: map[string]session{},
		replays:  map[string]session{},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET /login", s.handleLogin)
	s.mux.HandleFunc("GET /callback", s.handleCallback)
	s.mux.HandleFunc("GET /me", s.handleMe)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		page(w, http.StatusOK, "goapp", `<a href="/login">log in</a>`)
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Bugs returns the bug switches the app runs with.
func (s *Server) Bugs() BugSet { return s.cfg.Bugs }

func (s *Server) discover(ctx context.Context) (*discovered, error) {
	s.discoverMu.Lock()
	defer s.discoverMu.Unlock()
	if s.disc != nil {
		return s.disc, nil
	}
	ctx = oidc.ClientContext(ctx, s.client)
	// NewProvider refuses metadata whose issuer differs from ours (oidc/oidc.go).
	p, err := oidc.NewProvider(ctx, s.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		JWKSURI  string   `json:"jwks_uri"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
		IssParam bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("reading the provider metadata: %w", err)
	}
	if meta.JWKSURI == "" {
		return nil, errors.New("the provider metadata has no jwks_uri")
	}
	if len(meta.Algs) == 0 {
		meta.Algs = []string{"RS256"} // OIDC Discovery 3: RS256 must be supported
	}
	endpoint := p.Endpoint()
	switch s.cfg.AuthMethod {
	case AuthClientSecretPost, AuthNone:
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	default:
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	d := &discovered{
		provider: p,
		oauth: oauth2.Config{
			ClientID:     s.cfg.ClientID,
			ClientSecret: s.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  s.cfg.RedirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
		},
		verifier: newIDTokenVerifier(s.cfg.Issuer, meta.JWKSURI, meta.Algs, s.cfg, s.client),
		issParam: meta.IssParam,
	}
	if s.cfg.AuthMethod == AuthNone {
		d.oauth.ClientSecret = ""
	}
	s.disc = d
	return d, nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	d, err := s.discover(r.Context())
	if err != nil {
		s.log.Warn("discovery failed", "issuer", s.cfg.Issuer, "err", err)
		page(w, http.StatusBadGateway, "login unavailable", "The provider's metadata could not be read: "+html.EscapeString(err.Error()))
		return
	}
	p := pendingLogin{
		state:    randomString(),
		nonce:    randomString(),
		verifier: oauth2.GenerateVerifier(),
		expires:  time.Now().Add(loginLifetime),
	}
	if s.cfg.Bugs.Has(BugFixedState) {
		p.state = fixedState
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.nonce)}
	if s.cfg.Bugs.Has(BugNoPKCE) {
		p.verifier = ""
	} else {
		opts = append(opts, oauth2.S256ChallengeOption(p.verifier))
	}
	id := randomString()
	s.mu.Lock()
	prune(s.pending, func(p pendingLogin) time.Time { return p.expires })
	s.pending[id] = p
	s.mu.Unlock()
	http.SetCookie(w, s.cookie(loginCookie, id, loginLifetime, false))
	http.Redirect(w, r, d.oauth.AuthCodeURL(p.state, opts...), http.StatusFound)
}

// refuse shows the error page of a refused callback. reason must not hold
// the user's name, a token or a code.
func (s *Server) refuse(w http.ResponseWriter, status int, reason string) {
	s.log.Info("login refused", "reason", reason)
	page(w, status, "login refused", html.EscapeString(reason)+`<p><a href="/login">try again</a></p>`)
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("code")
	if s.cfg.Bugs.Has(BugReplayableCallback) && code != "" {
		// The bug: a code seen before logs in again, no provider asked.
		s.mu.Lock()
		who, ok := s.replays[code]
		s.mu.Unlock()
		if ok {
			s.startSession(w, r, who.name)
			return
		}
	}
	// The pending login is single use: taken out whatever happens next.
	var p pendingLogin
	var found bool
	if c, err := r.Cookie(loginCookie); err == nil {
		s.mu.Lock()
		p, found = s.pending[c.Value]
		delete(s.pending, c.Value)
		s.mu.Unlock()
		found = found && time.Now().Before(p.expires)
	}
	http.SetCookie(w, s.cookie(loginCookie, "", -1, false))
	if e := q.Get("error"); e != "" {
		s.refuse(w, http.StatusForbidden, "the provider answered "+e+": "+q.Get("error_description"))
		return
	}
	if !found {
		s.refuse(w, http.StatusBadRequest, "no login in progress in this browser (or it expired): start at /login")
		return
	}
	if !s.cfg.Bugs.Has(BugSkipState) {
		got := q.Get("state")
		if got == "" {
			s.refuse(w, http.StatusForbidden, "the authorization response carries no state")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(p.state)) != 1 {
			s.refuse(w, http.StatusForbidden, "the authorization response's state is not the one this login sent")
			return
		}
	}
	d, err := s.discover(r.Context())
	if err != nil {
		s.refuse(w, http.StatusForbidden, "the provider's metadata could not be read: "+err.Error())
		return
	}
	// RFC 9207 2.4: when the provider says it sends iss, it must be there and be its issuer.
	if d.issParam && !s.cfg.Bugs.Has(BugSkipResponseIss) {
		if got, ok := q["iss"]; !ok || len(got) != 1 || got[0] != s.cfg.Issuer {
			s.refuse(w, http.StatusForbidden, fmt.Sprintf("the authorization response's iss %q is not the issuer %q (RFC 9207)", q.Get("iss"), s.cfg.Issuer))
			return
		}
	}
	if code == "" {
		s.refuse(w, http.StatusBadRequest, "the authorization response carries no code")
		return
	}
	name, err := s.redeem(r.Context(), d, code, p)
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) && s.cfg.Bugs.Has(BugCrashOnTokenError) {
			// The bug: the failure escapes as a server error.
			http.Error(w, "internal server error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		s.refuse(w, http.StatusForbidden, err.Error())
		return
	}
	if s.cfg.Bugs.Has(BugReplayableCallback) {
		s.mu.Lock()
		prune(s.replays, func(s session) time.Time { return s.expires })
		s.replays[code] = session{name: name, expires: time.Now().Add(sessionLife)}
		s.mu.Unlock()
	}
	s.startSession(w, r, name)
}

// tokenError is a failed token request (P17's territory).
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "the token request failed: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// redeem exchanges the code, validates the token response, the ID token and
// userinfo, and returns the name to show.
func (s *Server) redeem(ctx context.Context, d *discovered, code string, p pendingLogin) (string, error) {
	ctx = oidc.ClientContext(ctx, s.client) // also oauth2.HTTPClient: the same context key
	tctx, cancel := context.WithTimeout(ctx, s.cfg.TokenTimeout)
	defer cancel()
	var opts []oauth2.AuthCodeOption
	if p.verifier != "" {
		opts = append(opts, oauth2.VerifierOption(p.verifier))
	}
	tok, err := d.oauth.Exchange(tctx, code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// Only the RFC 6749 5.2 error, never the body (it could echo secrets).
			if re.ErrorCode != "" {
				return "", &tokenError{fmt.Errorf("the provider answered %d %s", re.Response.StatusCode, re.ErrorCode)}
			}
			return "", &tokenError{fmt.Errorf("the provider answered %d", re.Response.StatusCode)}
		}
		if errors.Is(err, context.DeadlineExceeded) || tctx.Err() != nil {
			return "", &tokenError{fmt.Errorf("no answer within %v", s.cfg.TokenTimeout)}
		}
		return "", &tokenError{errors.New("the connection to the token endpoint failed")}
	}
	rawID, _ := tok.Extra("id_token").(string)
	if !s.cfg.Bugs.Has(BugSkipTokenResponseChecks) {
		// RFC 6749 7.1 / OIDC Core 3.1.3.3: a Bearer token and an ID token.
		if !strings.EqualFold(tok.TokenType, "Bearer") {
			return "", fmt.Errorf("the token response's token_type is %q, not Bearer", tok.TokenType)
		}
		if rawID == "" {
			return "", errors.New("the token response carries no id_token")
		}
	}
	var idSub, idName string
	if rawID != "" {
		idt, err := d.verifier.verify(ctx, rawID, p.nonce)
		if err != nil {
			return "", err
		}
		idSub = idt.Subject
		var claims struct {
			PreferredUsername string `json:"preferred_username"`
		}
		if err := idt.Claims(&claims); err == nil {
			idName = claims.PreferredUsername
		}
	}
	// Userinfo with the access token as a Bearer token, whatever token_type said
	// (only reachable otherwise under skip_token_response_checks).
	ui, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}))
	if err != nil {
		return "", fmt.Errorf("the userinfo request failed: %v", err)
	}
	var uiClaims struct {
		PreferredUsername string `json:"preferred_username"`
	}
	_ = ui.Claims(&uiClaims) // the name is a nicety; sub is what counts
	sub := idSub
	if sub == "" {
		// No ID token (skip_token_response_checks) or none with sub (skip_sub):
		// the lax app takes the user from userinfo, so nothing to compare.
		sub = ui.Subject
	} else if !s.cfg.Bugs.Has(BugSkipUserinfoSub) && subtle.ConstantTimeCompare([]byte(ui.Subject), []byte(idSub)) != 1 {
		// OIDC Core 5.3.2: the userinfo response must not be used otherwise.
		return "", errors.New("userinfo's sub differs from the ID token's sub")
	}
	if sub == "" {
		return "", errors.New("neither the ID token nor userinfo names a subject")
	}
	switch {
	case idName != "":
		return idName, nil
	case uiClaims.PreferredUsername != "" && sub == ui.Subject:
		return uiClaims.PreferredUsername, nil
	}
	return sub, nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, name string) {
	id := randomString()
	s.mu.Lock()
	prune(s.sessions, func(s session) time.Time { return s.expires })
	s.sessions[id] = session{name: name, expires: time.Now().Add(sessionLife)}
	s.mu.Unlock()
	http.SetCookie(w, s.cookie(sessionCookie, id, sessionLife, s.cfg.Bugs.Has(BugWeakCookie)))
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		sess, ok := s.sessions[c.Value]
		s.mu.Unlock()
		if ok && time.Now().Before(sess.expires) {
			page(w, http.StatusOK, "goapp", "logged in as "+html.EscapeString(sess.name))
			return
		}
	}
	page(w, http.StatusUnauthorized, "goapp", `not logged in <a href="/login">log in</a>`)
}

// cookie builds one of the app's cookies: HttpOnly, SameSite=Lax, Secure on
// https, unless weak (weak_cookie). maxAge < 0 deletes it.
func (s *Server) cookie(name, value string, maxAge time.Duration, weak bool) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: !weak,
		Secure:   strings.HasPrefix(s.cfg.RedirectURI, "https:"),
	}
	if !weak {
		c.SameSite = http.SameSiteLaxMode
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// prune drops expired entries, and the oldest-expiring ones beyond maxEntries.
// The caller holds s.mu.
func prune[V any](m map[string]V, expires func(V) time.Time) {
	now := time.Now()
	for k, v := range m {
		if now.After(expires(v)) {
			delete(m, k)
		}
	}
	for len(m) >= maxEntries {
		var oldest string
		var at time.Time
		for k, v := range m {
			if oldest == "" || expires(v).Before(at) {
				oldest, at = k, expires(v)
			}
		}
		delete(m, oldest)
	}
}

// randomString returns 256 random bits, base64url.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><p>%s</p></body></html>\n", html.EscapeString(title), body)
}
