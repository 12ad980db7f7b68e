package mockprovider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/grantbench/grantbench/oauth"
)

// issueRequest says what one successful grant hands out.
type issueRequest struct {
	client *Client
	// grant is the user authorization behind the tokens; nil for
	// client_credentials.
	grant *grant
	// accessScopes is the access token's scope; a refresh may narrow it.
	accessScopes scopeSet
	// reportedScope, when set, is the scope the response and the token name
	// instead of accessScopes' (the scope_unchecked defect's unknown scopes,
	// which a scopeSet cannot hold).
	reportedScope string
	// refresh asks for a refresh token carrying refreshScope.
	refresh      bool
	refreshScope string
	// idToken asks for an ID token (the openid scope with a user).
	idToken bool
	// code is the authorization code being exchanged, for c_hash.
	code string
}

type tokenResponse struct {
	accessToken  string
	expiresIn    int64
	scope        string
	refreshToken string
	idToken      string
	// tokenType is "Bearer" when empty; the token_type_not_bearer stimulus sets it.
	tokenType string
	// issuedTokenType is a token exchange's issued_token_type (RFC 8693 2.2.1).
	issuedTokenType string
}

// issueTokens mints and records what req asks for. Signing happens outside
// the store lock.
func (p *Provider) issueTokens(req issueRequest, now time.Time) (tokenResponse, error) {
	scope := p.scopeString(req.accessScopes)
	if req.reportedScope != "" {
		scope = req.reportedScope
	}
	if req.grant != nil {
		p.store.mu.Lock()
		p.registerFamily(req.grant, now)
		p.store.mu.Unlock()
	}
	access, rec, err := p.mintAccessToken(req.client, req.grant, req.accessScopes, scope, now)
	if err != nil {
		return tokenResponse{}, err
	}
	resp := tokenResponse{accessToken: access, expiresIn: int64(p.cfg.Lifetimes.AccessToken / time.Second), scope: scope}
	var refreshRec *refreshRecord
	if req.refresh {
		resp.refreshToken = p.newSecretFor(req.client)
		lifetime := p.cfg.Lifetimes.RefreshToken
		if p.defect(req.client, dRefreshNeverExpires) {
			lifetime = farFuture
		}
		refreshRec = &refreshRecord{grant: req.grant, scope: req.refreshScope, issuedAt: now, exp: now.Add(lifetime)}
	}
	if req.idToken {
		if resp.idToken, err = p.mintIDToken(req.client, req.grant, access, req.code, now); err != nil {
			return tokenResponse{}, err
		}
	}
	p.store.mu.Lock()
	p.store.access.put(keyOf(access), rec, now)
	if refreshRec != nil {
		p.store.refresh.put(keyOf(resp.refreshToken), refreshRec, now)
		p.extendFamily(req.grant, refreshRec.exp, now)
	}
	p.store.mu.Unlock()
	p.counters.countIssued(issuedAccessToken)
	if req.refresh {
		p.counters.countIssued(issuedRefreshToken)
	}
	if req.idToken {
		p.counters.countIssued(issuedIDToken)
	}
	return resp, nil
}

// registerFamily gives a grant its id and keeps it in the families table at
// least as long as an access token issued now. Callers hold the store lock.
func (p *Provider) registerFamily(g *grant, now time.Time) {
	if g.id == 0 {
		g.id = p.nextFamily.Add(1)
	}
	p.extendFamily(g, now.Add(p.cfg.Lifetimes.AccessToken), now)
}

// extendFamily keeps g in the families table until at least exp (the
// table requeues an entry whose expiry moved). Callers hold the store lock.
func (p *Provider) extendFamily(g *grant, exp, now time.Time) {
	if exp.After(g.exp) {
		g.exp = exp
	}
	k := familyKey(g.id)
	if !p.store.families.has(k) {
		p.store.families.put(k, g, now)
	}
}

// familyOf returns the live grant of an access record, nil for
// client_credentials. ok is false when the family was revoked or is gone.
// Callers hold the store lock.
func (p *Provider) familyOf(rec accessRecord) (g *grant, ok bool) {
	if rec.family == 0 {
		return nil, true
	}
	g, found := p.store.families.get(familyKey(rec.family))
	return g, found && !g.revoked
}

// accessActive reports whether an access token is usable at now. Callers
// hold the store lock.
func (p *Provider) accessActive(rec accessRecord, now time.Time) bool {
	// The clock_skew behaviour serves a token a while past its exp.
	if rec.revoked || now.UnixNano() >= rec.exp+int64(p.cfg.Behaviour.ClockSkew) {
		return false
	}
	_, ok := p.familyOf(rec)
	return ok
}

// mintAccessToken makes an access token: an RFC 9068 JWT or an opaque
// random string, and the record that backs revocation and introspection.
func (p *Provider) mintAccessToken(c *Client, g *grant, scopes scopeSet, scope string, now time.Time) (string, accessRecord, error) {
	exp := now.Add(p.cfg.Lifetimes.AccessToken)
	rec := accessRecord{client: p.clientIndex(c.ID), scopes: scopes, issuedAt: now.UnixNano(), exp: exp.UnixNano()}
	if p.defect(c, dExpiredStillActive) {
		rec.exp = now.Add(farFuture).UnixNano() // the token still says exp; the record ignores it
	}
	_, _ = rand.Read(rec.jti[:])
	if g != nil {
		rec.family = g.id
	}
	if p.cfg.AccessTokenFormat == AccessTokenOpaque {
		return p.newSecretFor(c), rec, nil
	}
	subject := c.ID
	if g != nil {
		subject = g.subject
	}
	aud := c.ID
	if p.cfg.AccessTokenAudience != "" {
		aud = p.cfg.AccessTokenAudience
	}
	claims := newJSONObject(384)
	claims.str("iss", p.issuerClaim(c))
	claims.str("sub", subject)
	if c.claims.audience != nil && !p.defect(c, dWrongAud) {
		claims.raw("aud", c.claims.audience)
	} else {
		claims.str("aud", p.audienceClaim(c, aud))
	}
	claims.str("client_id", c.ID)
	claims.strIf("scope", scope)
	claims.str("jti", base64.RawURLEncoding.EncodeToString(rec.jti[:]))
	claims.int("iat", now.Unix())
	claims.int("nbf", now.Unix())
	claims.int("exp", p.expClaim(c, now, p.cfg.Lifetimes.AccessToken))
	var user *User
	if g != nil && g.user != nil {
		user = g.user
		claims.int("auth_time", g.authTime.Unix())
		appendRawClaims(claims, user.custom)
	}
	appendRawClaims(claims, c.claims.access)
	key := p.keys.signer()
	signer, typ := key.access, "at+jwt"
	if p.defect(c, dWrongTyp) {
		signer, typ = key.id, "JWT"
	}
	body, signer, err := applyOverride(p.overrides.take(c, user, kindAccess), claims.bytes(), key, signer, typ)
	if err != nil {
		return "", rec, err
	}
	// The access_token_* defects bend access tokens alone, so that T1 can
	// show each of its assertions failing on its own.
	token, err := p.signBent(signer, typ, body, p.defect(c, dAlgNone) || p.defect(c, dAccessTokenAlgNone),
		p.defect(c, dBadSignature) || p.defect(c, dAccessTokenBadSignature))
	return token, rec, err
}

// The claim helpers below are where the T-row defects bend a token.

func (p *Provider) issuerClaim(c *Client) string {
	if p.defect(c, dWrongIss) {
		return "https://wrong-issuer.example"
	}
	return p.issuer
}

func (p *Provider) audienceClaim(c *Client, aud string) string {
	if p.defect(c, dWrongAud) {
		return "https://wrong-audience.example"
	}
	return aud
}

func (p *Provider) expClaim(c *Client, now time.Time, lifetime time.Duration) int64 {
	if p.defect(c, dExpMismatch) {
		lifetime *= 10
	}
	return now.Add(lifetime).Unix()
}

// sign signs claims with the cached signer; the alg_none and bad_signature
// defects return an unsigned or a corrupted token instead.
func (p *Provider) sign(c *Client, signer jose.Signer, typ string, claims []byte) (string, error) {
	return p.signBent(signer, typ, claims, p.defect(c, dAlgNone), p.defect(c, dBadSignature))
}

// signBent signs claims, or returns them unsigned (algNone) or with a
// corrupted signature (badSignature): the one place both breakages live,
// for the defects and the rp stimuli alike.
func (p *Provider) signBent(signer jose.Signer, typ string, claims []byte, algNone, badSignature bool) (string, error) {
	if algNone {
		// Deliberately broken output, which go-jose rightly cannot produce.
		header := `{"alg":"none","typ":"` + typ + `"}`
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(claims) + ".", nil
	}
	token, err := sign(signer, claims)
	if err != nil || !badSignature {
		return token, err
	}
	// Flip bits in the middle of the signature segment.
	b := []byte(token)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b), nil
}

// mintIDToken makes an OIDC ID token (OIDC Core 2, 3.1.3.6).
func (p *Provider) mintIDToken(c *Client, g *grant, accessToken, code string, now time.Time) (string, error) {
	// The rp stimuli bend only the ID token of a code exchange (rp.go).
	st := p.rpIDTokenStimuli(c, code)
	claims := newJSONObject(512)
	if st.has(RPIDTokenOtherIss) {
		claims.str("iss", rpOtherIssuer)
	} else {
		claims.str("iss", p.issuerClaim(c))
	}
	if !st.has(RPIDTokenNoSub) {
		claims.str("sub", g.subject)
	}
	switch {
	case st.has(RPIDTokenNoAud):
	case st.has(RPIDTokenOtherAud):
		claims.str("aud", rpOtherAudience)
		claims.str("azp", rpOtherAudience)
	default:
		claims.str("aud", p.audienceClaim(c, g.clientID))
		claims.str("azp", g.clientID)
	}
	iat, exp := now.Unix(), p.expClaim(c, now, p.cfg.Lifetimes.IDToken)
	switch {
	case st.has(RPIDTokenExpired):
		iat, exp = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case st.has(RPIDTokenIatFuture):
		iat = now.Add(24 * time.Hour).Unix()
	}
	claims.int("exp", exp)
	if !st.has(RPIDTokenNoIat) {
		claims.int("iat", iat)
	}
	claims.int("auth_time", g.authTime.Unix())
	switch {
	case st.has(RPIDTokenOtherNonce):
		claims.str("nonce", rpOtherNonce)
	case !p.defect(c, dNonceDropped) && !st.has(RPIDTokenNoNonce):
		claims.strIf("nonce", g.nonce)
	}
	if accessToken != "" {
		if p.defect(c, dBadAtHash) {
			claims.str("at_hash", halfHash(accessToken+"."))
		} else {
			claims.str("at_hash", halfHash(accessToken))
		}
	}
	if code != "" {
		claims.str("c_hash", halfHash(code))
	}
	if err := appendUserClaims(claims, g.user, g.scopes); err != nil {
		return "", err
	}
	appendRawClaims(claims, c.claims.id)
	if st != 0 {
		return p.rpSignIDToken(c, st, claims.bytes())
	}
	key := p.keys.signer()
	body, signer, err := applyOverride(p.overrides.take(c, g.user, kindID), claims.bytes(), key, key.id, "JWT")
	if err != nil {
		return "", err
	}
	return p.sign(c, signer, "JWT", body)
}

// scopeClaims maps OIDC scopes to the standard claims they release (OIDC Core 5.4).
var scopeClaims = map[string][]string{
	oauth.ScopeProfile: {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	oauth.ScopeEmail:   {"email", "email_verified"},
	oauth.ScopeAddress: {"address"},
	oauth.ScopePhone:   {"phone_number", "phone_number_verified"},
}

// appendUserClaims adds the user's claims that the scopes release, in a
// stable order, then the user's non-standard claims, which every scope
// releases.
func appendUserClaims(o *jsonObject, u *User, scopes []string) error {
	if u == nil {
		return nil
	}
	defer appendRawClaims(o, u.custom)
	for _, scope := range []string{oauth.ScopeProfile, oauth.ScopeEmail, oauth.ScopeAddress, oauth.ScopePhone} {
		if !slices.Contains(scopes, scope) {
			continue
		}
		for _, name := range scopeClaims[scope] {
			v, ok := u.Claims[name]
			if !ok {
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("mockprovider: claim %s: %w", name, err)
			}
			o.raw(name, b)
		}
	}
	return nil
}

// halfHash is the at_hash / c_hash value for SHA-256 based algorithms: the
// left half of the hash, base64url (OIDC Core 3.1.3.6, 3.3.2.11).
func halfHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func sign(signer jose.Signer, payload []byte) (string, error) {
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("mockprovider: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// writeTokenResponse sends a successful token response (RFC 6749 5.1).
func writeTokenResponse(w http.ResponseWriter, resp tokenResponse, noStore bool) {
	o := newJSONObject(256 + len(resp.accessToken) + len(resp.idToken))
	o.str("access_token", resp.accessToken)
	tokenType := resp.tokenType
	if tokenType == "" {
		tokenType = oauth.TokenTypeBearer
	}
	o.str("token_type", tokenType)
	o.int("expires_in", resp.expiresIn)
	o.strIf("scope", resp.scope)
	o.strIf("refresh_token", resp.refreshToken)
	o.strIf("id_token", resp.idToken)
	o.strIf("issued_token_type", resp.issuedTokenType)
	writeJSON(w, http.StatusOK, o.bytes(), noStore)
}

// issueForUser issues the tokens of a grant a user decided (authorization
// code, password, device): the grant's scopes, a refresh token when the client
// may refresh, an ID token when openid was granted. code is the authorization
// code redeemed, for the ID token's c_hash ("" for the other grants).
func (p *Provider) issueForUser(client *Client, g *grant, code string, now time.Time) (tokenResponse, *oauthError) {
	return p.issueOrFail(issueRequest{
		client:       client,
		grant:        g,
		accessScopes: p.scopeSetOf(g.scopes),
		// With offline_access_needs_consent, a refresh token only for a grant
		// that kept offline_access (OIDC Core 11).
		refresh: p.allows(client, GrantRefreshToken) &&
			(!p.cfg.Behaviour.OfflineAccessNeedsConsent || slices.Contains(g.scopes, oauth.ScopeOfflineAccess)),
		refreshScope: joinScopes(g.scopes),
		idToken:      slices.Contains(g.scopes, oauth.ScopeOpenID),
		code:         code,
	}, now)
}

// issueOrFail turns an issuance failure (a signing error) into server_error.
func (p *Provider) issueOrFail(req issueRequest, now time.Time) (tokenResponse, *oauthError) {
	resp, err := p.issueTokens(req, now)
	if err != nil {
		p.log.Error("token issuance failed", "err", err)
		return tokenResponse{}, &oauthError{code: oauth.ServerError, description: "could not issue tokens", status: http.StatusInternalServerError}
	}
	return resp, nil
}
