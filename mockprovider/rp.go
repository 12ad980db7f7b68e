package mockprovider

// This file is the mock's side of `grantbench rp` (issue 11): stimuli, the
// bad responses the provider gives one client application so that the P
// checks of catalog/CHECKS.md can see whether the application refuses them.
// Unlike defects (defects.go), which break a provider behaviour for every
// token of a client, a stimulus is aimed at a relying party's login: the
// ID-token stimuli bend only the ID token of the authorization_code grant,
// the token stimuli only the code exchange. Where a stimulus has the effect
// of a defect (state_dropped, nonce_dropped, code_reuse, alg_none,
// bad_signature) it goes through the defect's code path.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/grantbench/grantbench/oauth"
)

// RPStimulus names one bad response the provider gives a client
// application (the table of docs/mockprovider.md, "Stimuli").
type RPStimulus string

// The stimuli, by the P check they serve.
const (
	RPIDTokenOtherIss        RPStimulus = "id_token_other_iss"
	RPIDTokenOtherAud        RPStimulus = "id_token_other_aud"
	RPIDTokenNoAud           RPStimulus = "id_token_no_aud"
	RPIDTokenBadSignature    RPStimulus = "id_token_bad_signature"
	RPIDTokenAlgNone         RPStimulus = "id_token_alg_none"
	RPIDTokenHS256Secret     RPStimulus = "id_token_hs256_client_secret"
	RPIDTokenExpired         RPStimulus = "id_token_expired"
	RPIDTokenNoIat           RPStimulus = "id_token_no_iat"
	RPIDTokenIatFuture       RPStimulus = "id_token_iat_future"
	RPIDTokenOtherNonce      RPStimulus = "id_token_other_nonce"
	RPIDTokenNoNonce         RPStimulus = "id_token_no_nonce"
	RPIDTokenNoSub           RPStimulus = "id_token_no_sub"
	RPJWKSSingleKeyNoKid     RPStimulus = "jwks_single_key_no_kid"
	RPRotateKeyBeforeSigning RPStimulus = "rotate_key_before_signing"
	RPUserinfoOtherSub       RPStimulus = "userinfo_other_sub"
	RPStateDropped           RPStimulus = "state_dropped"
	RPResponseIssOther       RPStimulus = "response_iss_other"
	RPCodeReusable           RPStimulus = "code_reusable"
	RPTokenInvalidGrant      RPStimulus = "token_invalid_grant"
	RPToken503               RPStimulus = "token_503"
	RPTokenReset             RPStimulus = "token_reset"
	RPTokenStall             RPStimulus = "token_stall"
	RPTokenNoIDToken         RPStimulus = "token_no_id_token"
	RPTokenTypeNotBearer     RPStimulus = "token_type_not_bearer"
	rpStimulusCount                     = 24
)

// RPStimulusInfo describes one stimulus.
type RPStimulusInfo struct {
	Name RPStimulus `json:"name"`
	// Check is the ID of the P check of catalog/CHECKS.md it serves.
	Check string `json:"check"`
	// Effect says what the provider does to the client with it on.
	Effect string `json:"effect"`
}

// DefaultRPTokenStall is how long token_stall holds the token response
// back unless WithRPTokenStall says otherwise: longer than the 5 s an
// application should wait for its token request.
const DefaultRPTokenStall = 10 * time.Second

// Other values the stimuli put in place of the right ones.
const (
	rpOtherIssuer   = "https://other-issuer.example"
	rpOtherAudience = "other-client"
	rpOtherNonce    = "grantbench-other-nonce"
	rpOtherSubject  = "mallory"
)

var rpCatalogue = [rpStimulusCount]RPStimulusInfo{
	{RPIDTokenOtherIss, "P1", "the ID token's iss names " + rpOtherIssuer + " (signed correctly)"},
	{RPIDTokenOtherAud, "P2", "the ID token's aud (and azp) is another client id, " + rpOtherAudience},
	{RPIDTokenNoAud, "P2", "the ID token has no aud"},
	{RPIDTokenBadSignature, "P3", "the ID token's signature bytes are corrupted (the key's own alg)"},
	{RPIDTokenAlgNone, "P4", "the ID token has header alg none and an empty signature"},
	{RPIDTokenHS256Secret, "P5", "the ID token is signed HS256 with the client's secret as the key"},
	{RPIDTokenExpired, "P6", "the ID token's exp is an hour in the past (iat two hours)"},
	{RPIDTokenNoIat, "P7", "the ID token has no iat"},
	{RPIDTokenIatFuture, "P7", "the ID token's iat is one day ahead"},
	{RPIDTokenOtherNonce, "P8", "the ID token's nonce differs from the one sent"},
	{RPIDTokenNoNonce, "P8", "the ID token has no nonce"},
	{RPIDTokenNoSub, "P9", "the ID token has no sub"},
	{RPJWKSSingleKeyNoKid, "P10", "the JWKS holds only the current key, without kid (for every client while set); the client's ID tokens carry no kid"},
	{RPRotateKeyBeforeSigning, "P11", "each code exchange first rotates the signing key, so a kid the application has not fetched signs the ID token; the JWKS serves both keys"},
	{RPUserinfoOtherSub, "P12", "userinfo answers sub " + rpOtherSubject},
	{RPStateDropped, "P13", "authorization responses leave out state"},
	{RPResponseIssOther, "P14", "the authorization response's iss parameter names another issuer"},
	{RPCodeReusable, "P16", "the client's codes can be redeemed again"},
	{RPTokenInvalidGrant, "P17", "the code exchange gets 400 invalid_grant"},
	{RPToken503, "P17", "the code exchange gets 503 with a JSON temporarily_unavailable body"},
	{RPTokenReset, "P17", "the code exchange's connection is reset without an answer"},
	{RPTokenStall, "P17", "the code exchange is answered only after a stall (10 s; WithRPTokenStall)"},
	{RPTokenNoIDToken, "P18", "the code exchange's token response has no id_token"},
	{RPTokenTypeNotBearer, "P18", "the code exchange's token response says token_type mac"},
}

// RPStimuli lists every stimulus, sorted by check, then name.
func RPStimuli() []RPStimulusInfo {
	out := slices.Clone(rpCatalogue[:])
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := checkNumber(out[i].Check), checkNumber(out[j].Check)
		if ci != cj {
			return ci < cj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func checkNumber(id string) int {
	n := 0
	_, _ = fmt.Sscanf(id, "P%d", &n)
	return n
}

type rpStimulusID uint8

func rpStimulusByName(name RPStimulus) (rpStimulusID, bool) {
	for i, s := range rpCatalogue {
		if s.Name == name {
			return rpStimulusID(i), true
		}
	}
	return 0, false
}

// rpSet is a set of stimuli.
type rpSet uint32

func (s rpSet) has(name RPStimulus) bool {
	if s == 0 {
		return false
	}
	id, ok := rpStimulusByName(name)
	return ok && s&(1<<id) != 0
}

func (s rpSet) names() []RPStimulus {
	var out []RPStimulus
	for i := range rpStimulusCount {
		if s&(1<<i) != 0 {
			out = append(out, rpCatalogue[i].Name)
		}
	}
	return out
}

// rpState is the provider's stimuli and observations.
type rpState struct {
	// stimuli maps client id to its set; replaced whole, nil when none.
	stimuli atomic.Pointer[map[string]rpSet]
	// setMu serialises SetRPStimuli's read-modify-write of stimuli.
	setMu sync.Mutex
	stall time.Duration
	// logs maps client id to *rpLog, made on first use.
	logs        sync.Map
	jwksFetches atomic.Int64
}

// WithRPTokenStall sets how long the token_stall stimulus holds the token
// response back (DefaultRPTokenStall without it).
func WithRPTokenStall(d time.Duration) Option {
	return func(p *Provider) error {
		if d <= 0 || d > time.Minute {
			return fmt.Errorf("mockprovider: the token_stall duration must be positive and at most a minute, not %s", d)
		}
		p.rp.stall = d
		return nil
	}
}

// SetRPStimuli replaces the stimuli in force for a client; none clears them.
func (p *Provider) SetRPStimuli(clientID string, stimuli ...RPStimulus) error {
	c := p.client(clientID)
	if c == nil {
		return fmt.Errorf("mockprovider: client_id %q: no such client", clientID)
	}
	var set rpSet
	for i, name := range stimuli {
		id, ok := rpStimulusByName(name)
		if !ok {
			return fmt.Errorf("mockprovider: stimuli[%d]: unknown stimulus %q (grantbench rp -list)", i, name)
		}
		if name == RPIDTokenHS256Secret && c.Secret == "" {
			return fmt.Errorf("mockprovider: stimuli[%d]: %s needs a client with a secret; %s is public", i, name, clientID)
		}
		set |= 1 << id
	}
	p.rp.setMu.Lock()
	defer p.rp.setMu.Unlock()
	next := map[string]rpSet{}
	if cur := p.rp.stimuli.Load(); cur != nil {
		for id, s := range *cur {
			next[id] = s
		}
	}
	if set == 0 {
		delete(next, clientID)
	} else {
		next[clientID] = set
	}
	if len(next) == 0 {
		p.rp.stimuli.Store(nil)
	} else {
		p.rp.stimuli.Store(&next)
	}
	if set != 0 {
		p.log.Info("stimuli on: the provider now answers this client badly on purpose", "client_id", clientID, "stimuli", fmt.Sprint(set.names()))
	}
	return nil
}

// RPStimuliInForce returns the stimuli set for a client.
func (p *Provider) RPStimuliInForce(clientID string) []RPStimulus {
	return p.rpStimuli(clientID).names()
}

// rpStimuli is the set in force for a client.
func (p *Provider) rpStimuli(clientID string) rpSet {
	m := p.rp.stimuli.Load()
	if m == nil {
		return 0
	}
	return (*m)[clientID]
}

func (p *Provider) rpHas(c *Client, name RPStimulus) bool {
	return c != nil && p.rpStimuli(c.ID).has(name)
}

// rpAnyHas reports whether any client has the stimulus set (for the JWKS,
// which serves no client in particular).
func (p *Provider) rpAnyHas(name RPStimulus) bool {
	m := p.rp.stimuli.Load()
	if m == nil {
		return false
	}
	for _, s := range *m {
		if s.has(name) {
			return true
		}
	}
	return false
}

// rpIDTokenStimuli is the set that bends an ID token: only the one of the
// authorization_code grant (code is the code being exchanged).
func (p *Provider) rpIDTokenStimuli(c *Client, code string) rpSet {
	if code == "" {
		return 0
	}
	return p.rpStimuli(c.ID)
}

// rpSignIDToken signs ID-token claims as the stimuli say.
func (p *Provider) rpSignIDToken(c *Client, st rpSet, claims []byte) (string, error) {
	switch {
	case st.has(RPIDTokenAlgNone):
		return p.signBent(nil, "JWT", claims, true, false)
	case st.has(RPIDTokenHS256Secret):
		return signHS256(c.Secret, claims), nil
	}
	if st.has(RPRotateKeyBeforeSigning) {
		if _, _, _, err := p.RotateSigningKey(); err != nil {
			return "", err
		}
	}
	key := p.keys.signer()
	signer := key.id
	if st.has(RPJWKSSingleKeyNoKid) {
		var err error
		// The raw key, not the JWK: go-jose then writes no kid header.
		if signer, err = jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: key.private.Key}, (&jose.SignerOptions{}).WithType("JWT")); err != nil {
			return "", fmt.Errorf("mockprovider: kid-less signer: %w", err)
		}
	}
	return p.signBent(signer, "JWT", claims, p.defect(c, dAlgNone), p.defect(c, dBadSignature) || st.has(RPIDTokenBadSignature))
}

// signHS256 makes an HS256 JWS with the client secret as the key (OIDC Core
// 10.1), built by hand because go-jose refuses HMAC keys shorter than the
// hash, and a client secret may be short.
func signHS256(secret string, claims []byte) string {
	input := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// rpJWKS is the JWKS of jwks_single_key_no_kid: the current public key
// alone, without kid. ok is false when no client has the stimulus.
func (p *Provider) rpJWKS() (body []byte, ok bool, err error) {
	if !p.rpAnyHas(RPJWKSSingleKeyNoKid) {
		return nil, false, nil
	}
	key := p.keys.signer().public
	key.KeyID = ""
	body, err = jsonMarshalJWKS(key)
	return body, true, err
}

// rpTokenStimulus applies the code-exchange stimuli that replace or hold
// back the answer. It reports whether the request was answered (or its
// connection reset), in which case the handler stops.
func (p *Provider) rpTokenStimulus(w http.ResponseWriter, r *http.Request, c *Client, grantType string, noStore bool) bool {
	if grantType != GrantAuthorizationCode {
		return false
	}
	st := p.rpStimuli(c.ID)
	if st == 0 {
		return false
	}
	switch {
	case st.has(RPTokenReset):
		resetConnection(w)
		return true
	case st.has(RPToken503), st.has(RPTokenInvalidGrant):
		oerr := &oauthError{code: oauth.InvalidGrant, description: "stimulus token_invalid_grant", status: http.StatusBadRequest}
		if st.has(RPToken503) {
			oerr = &oauthError{code: oauth.TemporarilyUnavailable, description: "stimulus token_503", status: http.StatusServiceUnavailable}
		}
		if watch, ok := w.(*rpTokenWatch); ok {
			watch.failed(oerr)
		}
		p.writeError(w, oerr, noStore)
		return true
	case st.has(RPTokenStall):
		stall := p.rp.stall
		if stall == 0 {
			stall = DefaultRPTokenStall
		}
		t := time.NewTimer(stall)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	return false
}

// resetConnection closes the request's connection with a TCP RST (linger
// 0), so the client sees "connection reset" rather than an empty answer.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// rpBendTokenResponse applies the stimuli that change a successful code
// exchange's response.
func (p *Provider) rpBendTokenResponse(c *Client, grantType string, resp *tokenResponse) {
	if grantType != GrantAuthorizationCode {
		return
	}
	st := p.rpStimuli(c.ID)
	if st.has(RPTokenNoIDToken) {
		resp.idToken = ""
	}
	if st.has(RPTokenTypeNotBearer) {
		resp.tokenType = "mac"
	}
}

// rpUserinfoSubject is the sub userinfo answers for the client's token.
func (p *Provider) rpUserinfoSubject(clientID, subject string) string {
	if p.rpStimuli(clientID).has(RPUserinfoOtherSub) {
		return rpOtherSubject
	}
	return subject
}

// redirectURLParams is url.Values of a redirect URL's query or fragment.
func redirectURLParams(target string, fragment bool) url.Values {
	u, err := url.Parse(target)
	if err != nil {
		return url.Values{}
	}
	raw := u.RawQuery
	if fragment {
		raw = u.Fragment
	}
	q, _ := url.ParseQuery(raw)
	return q
}

func jsonMarshalJWKS(keys ...jose.JSONWebKey) ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: keys})
}

// handleAdminRP serves the /admin/rp/ calls. Errors are 400 with an RFC
// 6749 style invalid_request body naming the field.
func (p *Provider) handleAdminRP(w http.ResponseWriter, r *http.Request, route string) {
	bad := func(description string) {
		adminJSON(w, http.StatusBadRequest, map[string]string{"error": string(oauth.InvalidRequest), "error_description": description})
	}
	clientID := r.URL.Query().Get("client_id")
	needClient := func() bool {
		if p.client(clientID) == nil {
			bad(fmt.Sprintf("client_id %q: no such client", truncate(clientID, 80)))
			return false
		}
		return true
	}
	switch route {
	case "GET /admin/rp/stimuli/catalogue":
		adminJSON(w, http.StatusOK, RPStimuli())
	case "POST /admin/rp/stimuli":
		var body struct {
			ClientID string       `json:"client_id"`
			Stimuli  []RPStimulus `json:"stimuli"`
		}
		if err := decodeAdminBody(r, &body); err != nil {
			bad(`the body must be {"client_id": "...", "stimuli": [names]}`)
			return
		}
		if err := p.SetRPStimuli(body.ClientID, body.Stimuli...); err != nil {
			bad(err.Error())
			return
		}
		adminJSON(w, http.StatusOK, map[string]any{"client_id": body.ClientID, "stimuli": nonNil(p.RPStimuliInForce(body.ClientID))})
	case "GET /admin/rp/stimuli":
		if needClient() {
			adminJSON(w, http.StatusOK, map[string]any{"client_id": clientID, "stimuli": nonNil(p.RPStimuliInForce(clientID))})
		}
	case "GET /admin/rp/observations":
		if needClient() {
			adminJSON(w, http.StatusOK, p.RPObservations(clientID).nonNil())
		}
	case "DELETE /admin/rp/observations":
		if needClient() {
			p.ResetRPObservations(clientID)
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
