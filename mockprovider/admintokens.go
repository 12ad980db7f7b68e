package mockprovider

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Token types MintToken issues.
const (
	MintAccessToken = "access"
	MintIDToken     = "id"
)

// MintRequest asks for a signed token without a flow, for the tests of a
// resource server (POST /admin/tokens takes it as JSON, lifetime as a
// duration string such as "5m"). Only Subject is required.
type MintRequest struct {
	// Type is MintAccessToken (the default) or MintIDToken.
	Type    string
	Subject string
	// ClientID is the client the token is issued to: client_id and azp;
	// default the first configured client. It need not be registered.
	ClientID string
	// Audience is aud; default the client's configured audience (access
	// tokens), access_token_audience, else the client_id.
	Audience Audience
	// Scopes become the access token's scope claim.
	Scopes []string
	// Claims are set last: they may add any claim, replace one the provider
	// set (exp, iat, iss, ...) or remove it (nil).
	Claims map[string]any
	// Lifetime is exp - iat; default the configured lifetime of the type.
	Lifetime time.Duration
	// Header sets the kid and typ JOSE headers.
	Header map[string]string
}

// MintedToken is a token MintToken signed.
type MintedToken struct {
	Token     string
	ExpiresAt time.Time
}

// MintToken signs an access token (RFC 9068, typ at+jwt) or an ID token with
// the provider's current key, as POST /admin/tokens does. A minted access
// token for a registered client and known scopes is also recorded, so
// introspection and revocation know it. Bad input is a *RequestError naming
// the field.
func (p *Provider) MintToken(req MintRequest) (MintedToken, error) {
	if req.Type == "" {
		req.Type = MintAccessToken
	}
	if req.Type != MintAccessToken && req.Type != MintIDToken {
		return MintedToken{}, &RequestError{Field: "type", Msg: fmt.Sprintf("%q is not access or id", truncate(req.Type, 32))}
	}
	if req.Subject == "" {
		return MintedToken{}, &RequestError{Field: "subject", Msg: "required"}
	}
	if req.ClientID == "" {
		req.ClientID = p.firstClient().ID
	}
	if err := req.Audience.validate("audience"); err != nil {
		return MintedToken{}, &RequestError{Field: "audience", Msg: "an audience may not be empty"}
	}
	for i, s := range req.Scopes {
		if !validScopeToken(s) {
			return MintedToken{}, &RequestError{Field: fmt.Sprintf("scopes[%d]", i), Msg: fmt.Sprintf("%q is not a scope token (RFC 6749 3.3)", truncate(s, 64))}
		}
	}
	lifetime := req.Lifetime
	if lifetime == 0 {
		lifetime = p.cfg.Lifetimes.AccessToken
		if req.Type == MintIDToken {
			lifetime = p.cfg.Lifetimes.IDToken
		}
	}
	if lifetime < time.Second || lifetime > maxAdvance {
		return MintedToken{}, &RequestError{Field: "lifetime", Msg: "must be a duration of at least 1s and at most ten years such as 5m (for an expired token set claims.exp)"}
	}
	for k, v := range req.Claims {
		if k == "" {
			return MintedToken{}, &RequestError{Field: "claims", Msg: "a claim name may not be empty"}
		}
		if _, err := json.Marshal(v); err != nil {
			return MintedToken{}, &RequestError{Field: "claims." + k, Msg: "cannot be written as JSON"}
		}
	}
	if err := validateHeaderOverride("header", req.Header); err != nil {
		return MintedToken{}, err
	}
	client := p.client(req.ClientID) // nil for a client the provider does not know
	now := p.now()
	exp := now.Add(lifetime)
	aud := req.Audience
	if len(aud) == 0 {
		switch {
		case req.Type == MintAccessToken && client != nil && len(client.Audience) > 0:
			aud = client.Audience
		case req.Type == MintAccessToken && p.cfg.AccessTokenAudience != "":
			aud = Audience{p.cfg.AccessTokenAudience}
		default:
			aud = Audience{req.ClientID}
		}
	}
	o := newJSONObject(512)
	o.str("iss", p.issuer)
	o.str("sub", req.Subject)
	o.raw("aud", aud.claimJSON())
	var jti [16]byte
	key := p.keys.signer()
	signer, typ := key.access, "at+jwt"
	if req.Type == MintAccessToken {
		_, _ = rand.Read(jti[:])
		o.str("client_id", req.ClientID)
		o.strIf("scope", strings.Join(req.Scopes, " "))
		o.str("jti", base64.RawURLEncoding.EncodeToString(jti[:]))
		o.int("iat", now.Unix())
		o.int("nbf", now.Unix())
		o.int("exp", exp.Unix())
		if client != nil {
			appendRawClaims(o, client.claims.access)
		}
	} else {
		signer, typ = key.id, "JWT"
		o.str("azp", req.ClientID)
		o.int("iat", now.Unix())
		o.int("exp", exp.Unix())
		o.int("auth_time", now.Unix())
		if client != nil {
			appendRawClaims(o, client.claims.id)
		}
	}
	body, signer, err := applyOverride(&tokenOverride{claims: req.Claims, header: req.Header}, o.bytes(), key, signer, typ)
	if err != nil {
		return MintedToken{}, err
	}
	token, err := sign(signer, body)
	if err != nil {
		return MintedToken{}, err
	}
	if req.Type == MintAccessToken && client != nil && p.knowsScopes(req.Scopes) {
		rec := accessRecord{jti: jti, client: p.clientIndex(client.ID), scopes: p.scopeSetOf(req.Scopes),
			issuedAt: now.UnixNano(), exp: exp.UnixNano()}
		p.store.mu.Lock()
		p.store.access.put(keyOf(token), rec, now)
		p.store.mu.Unlock()
	}
	kind := issuedAccessToken
	if req.Type == MintIDToken {
		kind = issuedIDToken
	}
	p.counters.countIssued(kind)
	return MintedToken{Token: token, ExpiresAt: exp}, nil
}

func (p *Provider) knowsScopes(scopes []string) bool {
	for _, s := range scopes {
		if _, ok := p.scopeBits[s]; !ok {
			return false
		}
	}
	return true
}

// mintWire is POST /admin/tokens' body.
type mintWire struct {
	Type     string            `json:"type"`
	Subject  string            `json:"subject"`
	ClientID string            `json:"client_id"`
	Audience json.RawMessage   `json:"audience"`
	Scopes   json.RawMessage   `json:"scopes"`
	Claims   map[string]any    `json:"claims"`
	Lifetime string            `json:"lifetime"`
	Header   map[string]string `json:"header"`
}

// decodeMintRequest reads POST /admin/tokens; scopes may be an array or a
// space-separated string, audience a string or an array.
func decodeMintRequest(body []byte) (MintRequest, error) {
	var w mintWire
	if err := strictJSON(body, &w); err != nil {
		return MintRequest{}, err
	}
	req := MintRequest{Type: w.Type, Subject: w.Subject, ClientID: w.ClientID, Claims: w.Claims, Header: w.Header}
	if len(w.Audience) > 0 && string(w.Audience) != "null" {
		if err := json.Unmarshal(w.Audience, &req.Audience); err != nil {
			return MintRequest{}, &RequestError{Field: "audience", Msg: "must be a string or an array of strings"}
		}
	}
	if len(w.Scopes) > 0 && string(w.Scopes) != "null" {
		var s string
		if err := json.Unmarshal(w.Scopes, &s); err == nil {
			req.Scopes = strings.Fields(s)
		} else if err := json.Unmarshal(w.Scopes, &req.Scopes); err != nil {
			return MintRequest{}, &RequestError{Field: "scopes", Msg: "must be an array of strings or a space-separated string"}
		}
	}
	if w.Lifetime != "" {
		d, err := time.ParseDuration(w.Lifetime)
		if err != nil {
			return MintRequest{}, &RequestError{Field: "lifetime", Msg: fmt.Sprintf("%q is not a duration such as 5m or 1h30m", truncate(w.Lifetime, 32))}
		}
		if d == 0 {
			return MintRequest{}, &RequestError{Field: "lifetime", Msg: "must be a duration of at least 1s such as 5m"}
		}
		req.Lifetime = d
	}
	return req, nil
}

// handleAdminClaims serves the claims calls of the admin API: POST
// /admin/tokens mints a token, /admin/claims holds the overrides.
func (p *Provider) handleAdminClaims(w http.ResponseWriter, r *http.Request, route string) {
	switch route {
	case "POST /admin/tokens":
		body, ok := readAdminBody(w, r)
		if !ok {
			return
		}
		req, err := decodeMintRequest(body)
		if err == nil {
			var tok MintedToken
			if tok, err = p.MintToken(req); err == nil {
				adminJSON(w, http.StatusOK, map[string]any{"token": tok.Token, "expires_at": tok.ExpiresAt.Unix()})
				return
			}
		}
		p.adminRequestError(w, err)
	case "POST /admin/claims":
		body, ok := readAdminBody(w, r)
		if !ok {
			return
		}
		o, err := decodeOverride(body)
		if err == nil {
			err = p.AddClaimsOverride(o)
		}
		if err != nil {
			p.adminRequestError(w, err)
			return
		}
		adminJSON(w, http.StatusCreated, map[string]any{"overrides": p.ClaimsOverrides()})
	case "GET /admin/claims":
		adminJSON(w, http.StatusOK, map[string]any{"overrides": p.ClaimsOverrides()})
	case "DELETE /admin/claims":
		p.ClearClaimsOverrides()
		adminJSON(w, http.StatusOK, map[string]any{"overrides": []ClaimsOverride{}})
	}
}

// adminRequestError answers a bad request 400 with the field at fault; any
// other error (signing failed) is a 500 that names nothing secret.
func (p *Provider) adminRequestError(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		adminJSON(w, http.StatusBadRequest, map[string]string{"error": re.Field + ": " + re.Msg, "field": re.Field})
		return
	}
	p.log.Error("admin call failed", "err", err)
	adminJSON(w, http.StatusInternalServerError, map[string]string{"error": "the token could not be signed"})
}

// readAdminBody reads an admin body of at most 64 KiB.
func readAdminBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		adminJSON(w, http.StatusBadRequest, map[string]string{"error": "body: could not be read", "field": "body"})
		return nil, false
	}
	if len(body) > 64<<10 {
		adminJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body: larger than 64 KiB", "field": "body"})
		return nil, false
	}
	return body, true
}
