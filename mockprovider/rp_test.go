package mockprovider

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// rpClient is a registered client driven like a relying party would.
type rpClient struct{ id, secret string }

var (
	rpDemo   = rpClient{"demo", "demo-secret"}
	rpPublic = rpClient{"demo-public", ""}
)

// rpLogin is one login's authorization response and token exchange.
type rpLogin struct {
	state, nonce, verifier string
	callback               *url.URL
	code                   string
	status                 int
	body                   map[string]any
	exchangeErr            error
}

// rpAuthorize runs the authorization request of a code flow with state,
// nonce and PKCE, and returns the login with the callback.
func rpAuthorize(t *testing.T, f *fixture, c rpClient) *rpLogin {
	t.Helper()
	l := &rpLogin{state: "st-" + c.id, nonce: "n-" + c.id, verifier: oauth2.GenerateVerifier()}
	conf := oauthConfig(f, c.id, c.secret, "openid", "profile")
	l.callback = newBrowser(t, f).authorize(conf.AuthCodeURL(l.state, oauth2.SetAuthURLParam("nonce", l.nonce),
		oauth2.S256ChallengeOption(l.verifier)), "approve")
	if e := l.callback.Query().Get("error"); e != "" {
		t.Fatalf("authorization error %s", e)
	}
	l.code = l.callback.Query().Get("code")
	return l
}

// exchange redeems the login's code; a transport error is kept, not fatal.
func (l *rpLogin) exchange(t *testing.T, f *fixture, c rpClient) *rpLogin {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {l.code}, "redirect_uri": {testRedirect},
		"code_verifier": {l.verifier}}
	if c.secret == "" {
		form.Set("client_id", c.id)
	}
	req, err := http.NewRequest(http.MethodPost, f.url("/token"), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.secret != "" {
		req.SetBasicAuth(c.id, c.secret)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		l.exchangeErr = err
		return l
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	l.status, l.body = resp.StatusCode, map[string]any{}
	if err := json.Unmarshal(raw, &l.body); err != nil {
		t.Fatalf("token response is not JSON: %s", raw)
	}
	return l
}

func rpCodeFlow(t *testing.T, f *fixture, c rpClient) *rpLogin {
	t.Helper()
	return rpAuthorize(t, f, c).exchange(t, f, c)
}

func (l *rpLogin) idToken(t *testing.T) string {
	t.Helper()
	if l.status != http.StatusOK {
		t.Fatalf("token response %d %v", l.status, l.body)
	}
	raw, _ := l.body["id_token"].(string)
	if raw == "" {
		t.Fatalf("no id_token in %v", l.body)
	}
	return raw
}

// unverifiedClaims decodes a JWT's header and claims without checking it.
func unverifiedClaims(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	for i, into := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// verifiesWithJWKS reports whether the ID token's signature verifies with
// the provider's JWKS as served now.
func verifiesWithJWKS(t *testing.T, f *fixture, raw string) error {
	t.Helper()
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return err
	}
	var claims map[string]any
	return parsed.Claims(fetchJWKS(t, f), &claims)
}

// wantNormalIDToken asserts an unbent ID token for the login.
func wantNormalIDToken(t *testing.T, f *fixture, c rpClient, l *rpLogin) {
	t.Helper()
	claims := verifyIDToken(t, f, l.idToken(t), c.id, jose.SignatureAlgorithm(f.cfg.SigningAlg))
	if claims["nonce"] != l.nonce || claims["iat"] == nil {
		t.Errorf("normal ID token claims %v", claims)
	}
	if l.body["token_type"] != "Bearer" {
		t.Errorf("token_type %v", l.body["token_type"])
	}
}

func TestRPIDTokenStimuli(t *testing.T) {
	for _, tc := range []struct {
		stimulus RPStimulus
		check    func(t *testing.T, f *fixture, l *rpLogin, jwksBefore *jose.JSONWebKeySet)
	}{
		{RPIDTokenOtherIss, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			raw := l.idToken(t)
			if err := verifiesWithJWKS(t, f, raw); err != nil {
				t.Errorf("other-issuer token must be signed correctly: %v", err)
			}
			if _, c := unverifiedClaims(t, raw); c["iss"] != rpOtherIssuer {
				t.Errorf("iss %v", c["iss"])
			}
		}},
		{RPIDTokenOtherAud, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["aud"] != rpOtherAudience || c["aud"] == "demo" {
				t.Errorf("aud %v", c["aud"])
			}
		}},
		{RPIDTokenNoAud, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["aud"] != nil {
				t.Errorf("aud %v", c["aud"])
			}
		}},
		{RPIDTokenBadSignature, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			raw := l.idToken(t)
			if h, _ := unverifiedClaims(t, raw); h["alg"] != f.cfg.SigningAlg {
				t.Errorf("alg %v, want the key's own", h["alg"])
			}
			if err := verifiesWithJWKS(t, f, raw); err == nil {
				t.Error("corrupted signature verifies")
			}
		}},
		{RPIDTokenAlgNone, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			raw := l.idToken(t)
			if h, _ := unverifiedClaims(t, raw); h["alg"] != "none" || !strings.HasSuffix(raw, ".") {
				t.Errorf("header %v, token ends %q", h, raw[len(raw)-3:])
			}
		}},
		{RPIDTokenHS256Secret, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			// go-jose refuses HMAC keys shorter than the hash (demo-secret
			// is), so the MAC is checked by hand.
			raw := l.idToken(t)
			h, c := unverifiedClaims(t, raw)
			if h["alg"] != "HS256" || c["sub"] != "alice" {
				t.Errorf("header %v claims %v", h, c)
			}
			dot := strings.LastIndex(raw, ".")
			for key, want := range map[string]bool{rpDemo.secret: true, "another-secret": false} {
				mac := hmac.New(sha256.New, []byte(key))
				mac.Write([]byte(raw[:dot]))
				if got := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) == raw[dot+1:]; got != want {
					t.Errorf("HMAC with %q verifies: %v, want %v", key, got, want)
				}
			}
		}},
		{RPIDTokenExpired, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			_, c := unverifiedClaims(t, l.idToken(t))
			exp, iat, now := c["exp"].(float64), c["iat"].(float64), float64(f.p.now().Unix())
			if !(exp < now && iat < exp) {
				t.Errorf("exp %v iat %v now %v", exp, iat, now)
			}
		}},
		{RPIDTokenNoIat, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["iat"] != nil || c["exp"] == nil {
				t.Errorf("claims %v", c)
			}
		}},
		{RPIDTokenIatFuture, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["iat"] != float64(f.p.now().Add(24*time.Hour).Unix()) {
				t.Errorf("iat %v", c["iat"])
			}
		}},
		{RPIDTokenOtherNonce, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["nonce"] == nil || c["nonce"] == l.nonce {
				t.Errorf("nonce %v (sent %s)", c["nonce"], l.nonce)
			}
		}},
		{RPIDTokenNoNonce, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["nonce"] != nil {
				t.Errorf("nonce %v", c["nonce"])
			}
		}},
		{RPIDTokenNoSub, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			if _, c := unverifiedClaims(t, l.idToken(t)); c["sub"] != nil || c["iss"] != f.cfg.Issuer {
				t.Errorf("claims %v", c)
			}
		}},
		{RPJWKSSingleKeyNoKid, func(t *testing.T, f *fixture, l *rpLogin, _ *jose.JSONWebKeySet) {
			raw := l.idToken(t)
			if h, _ := unverifiedClaims(t, raw); h["kid"] != nil {
				t.Errorf("kid %v", h["kid"])
			}
			set := fetchJWKS(t, f)
			if len(set.Keys) != 1 || set.Keys[0].KeyID != "" {
				t.Fatalf("JWKS %+v", set.Keys)
			}
			parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(f.cfg.SigningAlg)})
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := parsed.Claims(set.Keys[0].Key, &c); err != nil {
				t.Errorf("kid-less token does not verify with the kid-less key: %v", err)
			}
		}},
		{RPRotateKeyBeforeSigning, func(t *testing.T, f *fixture, l *rpLogin, before *jose.JSONWebKeySet) {
			raw := l.idToken(t)
			h, _ := unverifiedClaims(t, raw)
			kid, _ := h["kid"].(string)
			if kid == "" || len(before.Key(kid)) > 0 {
				t.Fatalf("kid %q was already published", kid)
			}
			after := fetchJWKS(t, f)
			if len(after.Key(kid)) != 1 || len(after.Key(before.Keys[0].KeyID)) != 1 {
				t.Errorf("JWKS after rotation does not serve both keys: %+v", after.Keys)
			}
			if err := verifiesWithJWKS(t, f, raw); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(string(tc.stimulus), func(t *testing.T) {
			f := newFixture(t, nil)
			if err := f.p.SetRPStimuli("demo", tc.stimulus); err != nil {
				t.Fatal(err)
			}
			before := fetchJWKS(t, f)
			tc.check(t, f, rpCodeFlow(t, f, rpDemo), before)
			if tc.stimulus != RPJWKSSingleKeyNoKid { // the JWKS is provider-wide while set
				wantNormalIDToken(t, f, rpPublic, rpCodeFlow(t, f, rpPublic))
			}
			// The access token of the bent response is never bent.
			if err := f.p.SetRPStimuli("demo"); err != nil {
				t.Fatal(err)
			}
			wantNormalIDToken(t, f, rpDemo, rpCodeFlow(t, f, rpDemo))
		})
	}
}

// Stimuli bend only the code exchange's ID token: a refresh's ID token is
// normal.
func TestRPStimuliSpareRefresh(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.p.SetRPStimuli("demo", RPIDTokenOtherIss, RPTokenTypeNotBearer); err != nil {
		t.Fatal(err)
	}
	l := rpCodeFlow(t, f, rpDemo)
	if _, c := unverifiedClaims(t, l.idToken(t)); c["iss"] != rpOtherIssuer {
		t.Fatalf("stimulus not applied: %v", c["iss"])
	}
	resp, body := f.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {l.body["refresh_token"].(string)}}, "demo", "demo-secret")
	if resp.StatusCode != http.StatusOK || body["token_type"] != "Bearer" {
		t.Fatalf("refresh %d %v", resp.StatusCode, body)
	}
	if raw, _ := body["id_token"].(string); raw != "" {
		if _, c := unverifiedClaims(t, raw); c["iss"] != f.cfg.Issuer {
			t.Errorf("refresh ID token bent: iss %v", c["iss"])
		}
	}
}

func TestRPAuthorizationResponseStimuli(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.p.SetRPStimuli("demo", RPStateDropped, RPResponseIssOther); err != nil {
		t.Fatal(err)
	}
	q := rpAuthorize(t, f, rpDemo).callback.Query()
	if _, has := q["state"]; has || q.Get("iss") == f.cfg.Issuer || q.Get("iss") == "" || q.Get("code") == "" {
		t.Errorf("bent authorization response %v", q)
	}
	other := rpAuthorize(t, f, rpPublic).callback.Query()
	if other.Get("state") != "st-demo-public" || other.Get("iss") != f.cfg.Issuer {
		t.Errorf("other client's response bent: %v", other)
	}
	if err := f.p.SetRPStimuli("demo"); err != nil {
		t.Fatal(err)
	}
	q = rpAuthorize(t, f, rpDemo).callback.Query()
	if q.Get("state") != "st-demo" || q.Get("iss") != f.cfg.Issuer {
		t.Errorf("cleared, still bent: %v", q)
	}
}

func TestRPTokenStimuli(t *testing.T) {
	const stall = 200 * time.Millisecond
	for _, tc := range []struct {
		stimulus RPStimulus
		check    func(t *testing.T, f *fixture, run func() *rpLogin)
	}{
		{RPTokenInvalidGrant, func(t *testing.T, f *fixture, run func() *rpLogin) {
			if l := run(); l.status != http.StatusBadRequest || l.body["error"] != "invalid_grant" {
				t.Errorf("%d %v", l.status, l.body)
			}
		}},
		{RPToken503, func(t *testing.T, f *fixture, run func() *rpLogin) {
			if l := run(); l.status != http.StatusServiceUnavailable || l.body["error"] != "temporarily_unavailable" {
				t.Errorf("%d %v", l.status, l.body)
			}
		}},
		{RPTokenReset, func(t *testing.T, f *fixture, run func() *rpLogin) {
			l := run()
			if l.exchangeErr == nil {
				t.Fatalf("got an answer %d %v", l.status, l.body)
			}
			if !strings.Contains(l.exchangeErr.Error(), "reset") && !errors.Is(l.exchangeErr, io.EOF) {
				t.Logf("reset seen as %v", l.exchangeErr)
			}
		}},
		{RPTokenStall, func(t *testing.T, f *fixture, run func() *rpLogin) {
			start := time.Now()
			l := run()
			if took := time.Since(start); took < stall {
				t.Errorf("answered after %s, want at least %s", took, stall)
			}
			if l.status != http.StatusOK {
				t.Errorf("after the stall: %d %v", l.status, l.body)
			}
		}},
		{RPTokenNoIDToken, func(t *testing.T, f *fixture, run func() *rpLogin) {
			if l := run(); l.status != http.StatusOK || l.body["id_token"] != nil || l.body["access_token"] == nil {
				t.Errorf("%d %v", l.status, l.body)
			}
		}},
		{RPTokenTypeNotBearer, func(t *testing.T, f *fixture, run func() *rpLogin) {
			if l := run(); l.status != http.StatusOK || l.body["token_type"] != "mac" {
				t.Errorf("%d %v", l.status, l.body)
			}
		}},
		{RPCodeReusable, func(t *testing.T, f *fixture, run func() *rpLogin) {
			l := run()
			if l.status != http.StatusOK {
				t.Fatalf("%d %v", l.status, l.body)
			}
			if again := l.exchange(t, f, rpDemo); again.status != http.StatusOK {
				t.Errorf("second redemption %d %v", again.status, again.body)
			}
		}},
	} {
		t.Run(string(tc.stimulus), func(t *testing.T) {
			f := newFixture(t, nil, WithRPTokenStall(stall))
			if err := f.p.SetRPStimuli("demo", tc.stimulus); err != nil {
				t.Fatal(err)
			}
			tc.check(t, f, func() *rpLogin { return rpCodeFlow(t, f, rpDemo) })
			wantNormalIDToken(t, f, rpPublic, rpCodeFlow(t, f, rpPublic))
			if err := f.p.SetRPStimuli("demo"); err != nil {
				t.Fatal(err)
			}
			l := rpCodeFlow(t, f, rpDemo)
			wantNormalIDToken(t, f, rpDemo, l)
			if again := l.exchange(t, f, rpDemo); again.status != http.StatusBadRequest || again.body["error"] != "invalid_grant" {
				t.Errorf("cleared: a code is redeemed twice: %d %v", again.status, again.body)
			}
		})
	}
}

func TestRPUserinfoOtherSub(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.p.SetRPStimuli("demo", RPUserinfoOtherSub); err != nil {
		t.Fatal(err)
	}
	sub := func(c rpClient) any {
		l := rpCodeFlow(t, f, c)
		req, _ := http.NewRequest(http.MethodGet, f.url("/userinfo"), nil)
		req.Header.Set("Authorization", "Bearer "+l.body["access_token"].(string))
		_, body := doJSON(t, f.srv.Client(), req)
		return body["sub"]
	}
	if got := sub(rpDemo); got != rpOtherSubject {
		t.Errorf("userinfo sub %v", got)
	}
	if got := sub(rpPublic); got != "alice" {
		t.Errorf("other client's userinfo sub %v", got)
	}
	if n := f.p.RPObservations("demo").UserinfoCalls; n != 1 {
		t.Errorf("UserinfoCalls = %d, want 1", n)
	}
}

func TestRPObservations(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.p.SetRPStimuli("demo", RPTokenInvalidGrant); err != nil {
		t.Fatal(err)
	}
	jwksBefore := f.p.RPObservations("demo").JWKSFetches
	fetchJWKS(t, f)
	l := rpCodeFlow(t, f, rpDemo)
	obs := f.p.RPObservations("demo")
	if len(obs.AuthorizationRequests) != 1 || len(obs.Callbacks) != 1 || len(obs.TokenRequests) != 1 {
		t.Fatalf("observations %+v", obs)
	}
	a := obs.AuthorizationRequests[0]
	if a.ResponseType != "code" || a.State != l.state || a.Nonce != l.nonce || a.RedirectURI != testRedirect ||
		a.CodeChallengeMethod != "S256" || a.CodeChallenge != oauth2.S256ChallengeFromVerifier(l.verifier) ||
		a.Scope != "openid profile" || a.Query.Get("client_id") != "demo" || a.At.IsZero() {
		t.Errorf("authorization request %+v", a)
	}
	if cb := obs.Callbacks[0]; cb.URL != l.callback.String() || cb.Code != l.code || cb.State != l.state {
		t.Errorf("callback %+v, sent %s", cb, l.callback)
	}
	if tr := obs.TokenRequests[0]; tr.GrantType != "authorization_code" || tr.AuthMethod != "client_secret_basic" ||
		!tr.CodeVerifierSent || tr.Status != http.StatusBadRequest || tr.ErrorCode != "invalid_grant" {
		t.Errorf("token request %+v", tr)
	}
	if obs.JWKSFetches != jwksBefore+1 {
		t.Errorf("JWKSFetches %d, want %d", obs.JWKSFetches, jwksBefore+1)
	}
	// The other client's log is its own; a public client's method is none.
	_ = f.p.SetRPStimuli("demo")
	rpCodeFlow(t, f, rpPublic)
	pub := f.p.RPObservations("demo-public")
	if len(pub.TokenRequests) != 1 || pub.TokenRequests[0].AuthMethod != "none" || pub.TokenRequests[0].Status != http.StatusOK ||
		pub.TokenRequests[0].ErrorCode != "" {
		t.Errorf("public client's token requests %+v", pub.TokenRequests)
	}
	if n := len(f.p.RPObservations("demo").TokenRequests); n != 1 {
		t.Errorf("demo has %d token requests after another client's flow", n)
	}
	// A failed client authentication is recorded under the client it names.
	f.postForm(t, "/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "demo", "wrong-secret")
	if trs := f.p.RPObservations("demo").TokenRequests; len(trs) != 2 || trs[1].Status != http.StatusUnauthorized || trs[1].ErrorCode != "invalid_client" {
		t.Errorf("refused token request not recorded: %+v", trs)
	}
	// client_credentials (what load runs send by the thousand) is not an
	// application login's grant: neither its success nor its refusal is kept.
	f.postForm(t, "/token", url.Values{"grant_type": {"client_credentials"}}, "demo", "demo-secret")
	f.postForm(t, "/token", url.Values{"grant_type": {"client_credentials"}}, "demo", "wrong-secret")
	if trs := f.p.RPObservations("demo").TokenRequests; len(trs) != 2 {
		t.Errorf("client_credentials requests recorded: %+v", trs)
	}
	f.p.ResetRPObservations("demo")
	l = rpCodeFlow(t, f, rpDemo)
	obs = f.p.RPObservations("demo")
	// A copy: changing it changes nothing inside.
	obs.AuthorizationRequests[0].Query.Set("state", "changed")
	if f.p.RPObservations("demo").AuthorizationRequests[0].Query.Get("state") != l.state {
		t.Error("RPObservations returned shared state")
	}
	f.p.ResetRPObservations("demo")
	if o := f.p.RPObservations("demo"); len(o.AuthorizationRequests)+len(o.Callbacks)+len(o.TokenRequests)+o.UserinfoCalls != 0 {
		t.Errorf("after reset %+v", o)
	}
}

// The observation store keeps the newest entries per client and is safe
// for concurrent use (run with -race).
func TestRPObservationsBoundedAndConcurrent(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	const writers, each = 4, rpObservationCap
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q := url.Values{"state": {string(rune('a'+w)) + strings.Repeat("x", i)}}
				f.p.rpSeeAuthorization("demo", q, f.p.now())
				_ = f.p.RPObservations("demo")
			}
		}()
	}
	wg.Wait()
	f.p.rpSeeAuthorization("demo", url.Values{"state": {"last"}}, f.p.now())
	got := f.p.RPObservations("demo").AuthorizationRequests
	if len(got) != rpObservationCap || got[len(got)-1].State != "last" {
		t.Errorf("%d entries, last %q; want %d ending with the newest", len(got), got[len(got)-1].State, rpObservationCap)
	}
}

func TestRPObservationRingOrder(t *testing.T) {
	var r ring[int]
	const total = rpObservationCap + 6
	for i := range total {
		r.add(i)
	}
	got := r.list()
	if len(got) != rpObservationCap || got[0] != total-rpObservationCap || got[len(got)-1] != total-1 {
		t.Fatalf("ring holds %d entries %d..%d, want the newest %d oldest first", len(got), got[0], got[len(got)-1], rpObservationCap)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("out of order at %d: %v", i, got)
		}
	}
}

func TestRPStimuliRefused(t *testing.T) {
	f := newFixture(t, nil)
	err := f.p.SetRPStimuli("demo", RPIDTokenNoSub, "id_token_bogus")
	if err == nil || !strings.Contains(err.Error(), `"id_token_bogus"`) {
		t.Errorf("unknown stimulus: %v", err)
	}
	if got := f.p.RPStimuliInForce("demo"); len(got) != 0 {
		t.Errorf("a refused set was half applied: %v", got)
	}
	if err := f.p.SetRPStimuli("nobody", RPIDTokenNoSub); err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("unknown client: %v", err)
	}
	if err := f.p.SetRPStimuli("demo-public", RPIDTokenHS256Secret); err == nil {
		t.Error("HS256 with the secret of a public client accepted")
	}
	if _, err := New(f.cfg, WithRPTokenStall(-time.Second)); err == nil {
		t.Error("negative stall accepted")
	}
}

func TestRPStimuliCatalogue(t *testing.T) {
	list := RPStimuli()
	if len(list) != rpStimulusCount {
		t.Fatalf("%d stimuli, want %d", len(list), rpStimulusCount)
	}
	seen := map[RPStimulus]bool{}
	for _, s := range list {
		if seen[s.Name] || s.Name == "" || !strings.HasPrefix(s.Check, "P") || s.Effect == "" {
			t.Errorf("bad entry %+v", s)
		}
		seen[s.Name] = true
	}
	if !slices.IsSortedFunc(list, func(a, b RPStimulusInfo) int { return checkNumber(a.Check) - checkNumber(b.Check) }) {
		t.Error("not sorted by check")
	}
}

func TestRPAdminAPI(t *testing.T) {
	f := newFixture(t, nil, WithAdminToken(testAdminToken))
	call := func(method, path string, body any) (*http.Response, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, f.url(path), rd)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		return doJSON(t, f.srv.Client(), req)
	}
	resp, body := call(http.MethodPost, "/admin/rp/stimuli", map[string]any{"client_id": "demo", "stimuli": []string{"id_token_no_sub", "nope"}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), `"nope"`) {
		t.Errorf("unknown stimulus: %d %v", resp.StatusCode, body)
	}
	resp, body = call(http.MethodPost, "/admin/rp/stimuli", map[string]any{"client_id": "demo", "stimulus": "x"})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("unknown field: %d %v", resp.StatusCode, body)
	}
	resp, body = call(http.MethodGet, "/admin/rp/observations?client_id=nobody", nil)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("unknown client: %d %v", resp.StatusCode, body)
	}
	resp, body = call(http.MethodPost, "/admin/rp/stimuli", map[string]any{"client_id": "demo", "stimuli": []string{"id_token_no_sub"}})
	if resp.StatusCode != http.StatusOK || !slices.Equal(body["stimuli"].([]any), []any{"id_token_no_sub"}) {
		t.Fatalf("set: %d %v", resp.StatusCode, body)
	}
	l := rpCodeFlow(t, f, rpDemo)
	if _, c := unverifiedClaims(t, l.idToken(t)); c["sub"] != nil {
		t.Errorf("stimulus set through the admin API not applied: %v", c)
	}
	resp, body = call(http.MethodGet, "/admin/rp/observations?client_id=demo", nil)
	if resp.StatusCode != http.StatusOK || len(body["authorization_requests"].([]any)) != 1 || len(body["token_requests"].([]any)) != 1 {
		t.Errorf("observations: %d %v", resp.StatusCode, body)
	}
	resp, _ = call(http.MethodDelete, "/admin/rp/observations?client_id=demo", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if _, body = call(http.MethodGet, "/admin/rp/observations?client_id=demo", nil); len(body["token_requests"].([]any)) != 0 {
		t.Errorf("after delete: %v", body)
	}
	if _, body = call(http.MethodPost, "/admin/rp/stimuli", map[string]any{"client_id": "demo", "stimuli": []string{}}); len(body["stimuli"].([]any)) != 0 {
		t.Errorf("clear: %v", body)
	}
	wantNormalIDToken(t, f, rpDemo, rpCodeFlow(t, f, rpDemo))
	req, _ := http.NewRequest(http.MethodGet, f.url("/admin/rp/stimuli/catalogue"), nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	cresp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer cresp.Body.Close()
	var list []RPStimulusInfo
	if err := json.NewDecoder(cresp.Body).Decode(&list); err != nil || len(list) != rpStimulusCount {
		t.Errorf("catalogue: %v, %d entries", err, len(list))
	}
}
