package mockprovider

// Observations: what a client application sent the provider, for the P
// checks that judge the application's requests (state, nonce, PKCE, the
// token request) rather than its refusals. They are kept per client in
// memory, bounded, and never logged: they hold codes and states in full.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// rpObservationCap bounds each list of a client's observations; the oldest
// entries go first.
const rpObservationCap = 64

// RPObservations is what one client's application sent (and what the mock
// answered), oldest first.
type RPObservations struct {
	// AuthorizationRequests are the /authorize requests naming the client.
	AuthorizationRequests []AuthorizationRequestSeen `json:"authorization_requests"`
	// Callbacks are the redirects to the client's redirect_uri the mock issued.
	Callbacks []CallbackSent `json:"callbacks"`
	// TokenRequests are the client's authorization_code and refresh_token
	// requests (the grants an application's login uses), those whose client
	// authentication failed included.
	TokenRequests []TokenRequestSeen `json:"token_requests"`
	// UserinfoCalls counts userinfo requests with a live token of the client.
	UserinfoCalls int `json:"userinfo_calls"`
	// JWKSFetches counts every JWKS request: provider-wide, as JWKS
	// requests carry no client.
	JWKSFetches int `json:"jwks_fetches"`
}

// AuthorizationRequestSeen is one authorization request.
type AuthorizationRequestSeen struct {
	At                  time.Time  `json:"at"`
	ResponseType        string     `json:"response_type"`
	RedirectURI         string     `json:"redirect_uri"`
	Scope               string     `json:"scope"`
	State               string     `json:"state"`
	Nonce               string     `json:"nonce"`
	CodeChallenge       string     `json:"code_challenge"`
	CodeChallengeMethod string     `json:"code_challenge_method"`
	Query               url.Values `json:"query"` // everything as sent
}

// CallbackSent is one authorization response redirect.
type CallbackSent struct {
	At time.Time `json:"at"`
	// URL is the full redirect URL, with code, state and iss.
	URL   string `json:"url"`
	Code  string `json:"code"`
	State string `json:"state"`
}

// TokenRequestSeen is one token request and the mock's answer.
type TokenRequestSeen struct {
	At        time.Time `json:"at"`
	GrantType string    `json:"grant_type"`
	// AuthMethod is how the client authenticated: client_secret_basic,
	// client_secret_post, private_key_jwt or none.
	AuthMethod       string `json:"auth_method"`
	CodeVerifierSent bool   `json:"code_verifier_sent"`
	// Status is the HTTP status answered; 0 when the connection was reset.
	Status    int    `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
}

// rpLog is one client's observations.
type rpLog struct {
	mu        sync.Mutex
	authz     ring[AuthorizationRequestSeen]
	callbacks ring[CallbackSent]
	tokens    ring[TokenRequestSeen]
	userinfo  int
}

func (p *Provider) rpLogOf(clientID string) *rpLog {
	if l, ok := p.rp.logs.Load(clientID); ok {
		return l.(*rpLog)
	}
	l, _ := p.rp.logs.LoadOrStore(clientID, &rpLog{})
	return l.(*rpLog)
}

// ring keeps the newest rpObservationCap entries; the oldest is
// overwritten, so a busy client (a load test) costs no copying.
type ring[T any] struct {
	entries []T
	next    int // where the next entry goes once the ring is full
}

func (r *ring[T]) add(v T) {
	if len(r.entries) < rpObservationCap {
		r.entries = append(r.entries, v)
		return
	}
	r.entries[r.next] = v
	r.next = (r.next + 1) % rpObservationCap
}

// list copies the entries, oldest first.
func (r *ring[T]) list() []T {
	out := make([]T, 0, len(r.entries))
	out = append(out, r.entries[r.next:]...)
	return append(out, r.entries[:r.next]...)
}

// RPObservations returns a copy of what the client's application sent.
func (p *Provider) RPObservations(clientID string) RPObservations {
	out := RPObservations{JWKSFetches: int(p.rp.jwksFetches.Load())}
	l, ok := p.rp.logs.Load(clientID)
	if !ok {
		return out
	}
	log := l.(*rpLog)
	log.mu.Lock()
	defer log.mu.Unlock()
	out.AuthorizationRequests = log.authz.list()
	for i := range out.AuthorizationRequests {
		out.AuthorizationRequests[i].Query = cloneValues(out.AuthorizationRequests[i].Query)
	}
	out.Callbacks = log.callbacks.list()
	out.TokenRequests = log.tokens.list()
	out.UserinfoCalls = log.userinfo
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// ResetRPObservations forgets what the client's application sent. The
// provider-wide JWKS count is not reset: other clients share it.
func (p *Provider) ResetRPObservations(clientID string) {
	p.rp.logs.Delete(clientID)
}

// rpSeeAuthorization records an authorization request naming a known client.
func (p *Provider) rpSeeAuthorization(clientID string, q url.Values, now time.Time) {
	seen := AuthorizationRequestSeen{At: now, ResponseType: q.Get("response_type"), RedirectURI: q.Get("redirect_uri"),
		Scope: q.Get("scope"), State: q.Get("state"), Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), Query: cloneValues(q)}
	l := p.rpLogOf(clientID)
	l.mu.Lock()
	l.authz.add(seen)
	l.mu.Unlock()
}

// rpSeeCallback records an authorization response redirect.
func (p *Provider) rpSeeCallback(clientID, target string, fragment bool, now time.Time) {
	params := redirectURLParams(target, fragment)
	seen := CallbackSent{At: now, URL: target, Code: params.Get("code"), State: params.Get("state")}
	l := p.rpLogOf(clientID)
	l.mu.Lock()
	l.callbacks.add(seen)
	l.mu.Unlock()
}

// rpSeeUserinfo counts a userinfo call with the client's token.
func (p *Provider) rpSeeUserinfo(clientID string) {
	l := p.rpLogOf(clientID)
	l.mu.Lock()
	l.userinfo++
	l.mu.Unlock()
}

// rpTokenWatch records one token request once it is answered.
type rpTokenWatch struct {
	http.ResponseWriter
	p         *Provider
	clientID  string
	seen      TokenRequestSeen
	errorCode string
}

// rpWatchToken starts recording an authenticated token request; the
// handler answers through the returned writer and calls done at the end.
func (p *Provider) rpWatchToken(w http.ResponseWriter, r *http.Request, c *Client, form url.Values, now time.Time) *rpTokenWatch {
	return &rpTokenWatch{ResponseWriter: w, p: p, clientID: c.ID, seen: TokenRequestSeen{
		At: now, GrantType: form.Get("grant_type"), AuthMethod: authMethodOf(r, form),
		CodeVerifierSent: form.Get("code_verifier") != "",
	}}
}

// rpObservedGrant says whether token requests of grantType are recorded: the
// grants of an application's login only. client_credentials and password are
// what load runs send by the ten thousand a second, and recording them would
// put a per-client lock on that path for nothing grantbench rp reads.
func rpObservedGrant(grantType string) bool {
	return grantType == GrantAuthorizationCode || grantType == GrantRefreshToken
}

// rpSeeUnauthenticatedToken records a token request whose client
// authentication failed, under the registered client it names (if any).
func (p *Provider) rpSeeUnauthenticatedToken(r *http.Request, form url.Values, oerr *oauthError, now time.Time) {
	if !rpObservedGrant(form.Get("grant_type")) || p.client(oerr.clientID) == nil {
		return
	}
	seen := TokenRequestSeen{At: now, GrantType: form.Get("grant_type"), AuthMethod: authMethodOf(r, form),
		CodeVerifierSent: form.Get("code_verifier") != "", Status: oerr.status, ErrorCode: string(oerr.code)}
	l := p.rpLogOf(oerr.clientID)
	l.mu.Lock()
	l.tokens.add(seen)
	l.mu.Unlock()
}

// authMethodOf names how a token request authenticated its client.
func authMethodOf(r *http.Request, form url.Values) string {
	switch {
	case strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "basic "):
		return "client_secret_basic"
	case form.Get("client_assertion") != "":
		return "private_key_jwt"
	case form.Get("client_secret") != "":
		return "client_secret_post"
	}
	return "none"
}

func (t *rpTokenWatch) WriteHeader(status int) {
	if t.seen.Status == 0 {
		t.seen.Status = status
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *rpTokenWatch) Write(b []byte) (int, error) {
	if t.seen.Status == 0 {
		t.seen.Status = http.StatusOK
	}
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the reset stimulus reach the
// connection.
func (t *rpTokenWatch) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// failed notes the OAuth error the request is answered with (nothing for a
// request that is not watched: a nil t).
func (t *rpTokenWatch) failed(oerr *oauthError) {
	if t != nil && oerr != nil {
		t.errorCode = string(oerr.code)
	}
}

// done records the request.
func (t *rpTokenWatch) done() {
	t.seen.ErrorCode = t.errorCode
	l := t.p.rpLogOf(t.clientID)
	l.mu.Lock()
	l.tokens.add(t.seen)
	l.mu.Unlock()
}

// nonNil makes the lists JSON arrays rather than null.
func (o RPObservations) nonNil() RPObservations {
	o.AuthorizationRequests = nonNil(o.AuthorizationRequests)
	o.Callbacks = nonNil(o.Callbacks)
	o.TokenRequests = nonNil(o.TokenRequests)
	return o
}
