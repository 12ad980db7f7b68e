package mockprovider

// Token exchange (RFC 8693): a client trades a token the provider issued
// (the subject token, and optionally an actor token naming who acts for
// the subject) for a new access token, narrowed to an audience and scope.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/grantbench/grantbench/oauth"
)

// Token type identifiers token exchange takes and issues (RFC 8693 3).
const (
	TokenTypeAccessToken = oauth.TokenTypeURNAccessToken
	TokenTypeIDToken     = oauth.TokenTypeURNIDToken
	TokenTypeJWT         = oauth.TokenTypeURNJWT
)

// exchangeParty is a subject or actor token the provider recognised.
type exchangeParty struct {
	subject string
	// family is the grant of an access token issued for a user (0 for
	// client_credentials and for JWTs recognised by signature).
	family uint64
	// scopes are the access token's; nil for an ID token or a JWT.
	scopes []string
	// act is the token's own act claim (an earlier exchange's actor chain).
	act json.RawMessage
}

// grantTokenExchange is RFC 8693 2.1-2.2: the client must be allowed the
// grant; subject_token and subject_token_type are required; the actor token
// comes with its type or not at all (2.1).
func (p *Provider) grantTokenExchange(client *Client, form url.Values, now time.Time) (tokenResponse, *oauthError) {
	if !p.allows(client, GrantTokenExchange) {
		return tokenResponse{}, unauthorizedClient("this client may not use token exchange")
	}
	subjectToken, subjectType := form.Get("subject_token"), form.Get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return tokenResponse{}, invalidRequest("subject_token and subject_token_type are required (RFC 8693 2.1)")
	}
	actorToken, actorType := form.Get("actor_token"), form.Get("actor_token_type")
	if (actorToken == "") != (actorType == "") {
		return tokenResponse{}, invalidRequest("actor_token_type is required with actor_token and only with it (RFC 8693 2.1)")
	}
	issuedType := form.Get("requested_token_type")
	switch issuedType {
	case "":
		issuedType = TokenTypeAccessToken
	case TokenTypeAccessToken, TokenTypeJWT:
		if issuedType == TokenTypeJWT && p.cfg.AccessTokenFormat != AccessTokenJWT {
			return tokenResponse{}, invalidRequest("this provider issues opaque access tokens; requested_token_type jwt is not available")
		}
	default:
		return tokenResponse{}, invalidRequest("requested_token_type " + truncate(issuedType, 80) + " is not supported; ask for " + TokenTypeAccessToken + " or " + TokenTypeJWT)
	}
	subject, oerr := p.exchangeParty(client, subjectToken, subjectType, "subject_token", now)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	var actor *exchangeParty
	if actorToken != "" {
		if actor, oerr = p.exchangeParty(client, actorToken, actorType, "actor_token", now); oerr != nil {
			return tokenResponse{}, oerr
		}
	}
	scopes, oerr := p.exchangeScopes(client, subject, form.Get("scope"))
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	aud := Audience(slices.Concat(form["audience"], form["resource"]))
	for _, a := range aud {
		if strings.TrimSpace(a) == "" {
			return tokenResponse{}, newError(oauth.InvalidTarget, "an audience or resource may not be blank (RFC 8693 2.2.2)")
		}
	}
	resp, err := p.mintExchanged(client, subject, actor, aud, scopes, now)
	if err != nil {
		p.log.Error("token exchange issuance failed", "err", err)
		return tokenResponse{}, &oauthError{code: oauth.ServerError, description: "could not issue tokens", status: http.StatusInternalServerError}
	}
	resp.issuedTokenType = issuedType
	return resp, nil
}

// exchangeParty recognises a subject or actor token: an access token the
// provider issued and that is still active, or (type id_token or jwt) a JWT
// the provider signed that has not expired. Anything else is invalid_request
// (RFC 8693 2.2.2: "If either the subject_token or actor_token are invalid
// for any reason ... the invalid_request error code MUST be used").
func (p *Provider) exchangeParty(client *Client, token, tokenType, field string, now time.Time) (*exchangeParty, *oauthError) {
	switch tokenType {
	case TokenTypeAccessToken, TokenTypeIDToken, TokenTypeJWT:
	default:
		return nil, invalidRequest(field + "_type " + truncate(tokenType, 80) + " is not supported (access_token, id_token or jwt)")
	}
	if tokenType != TokenTypeIDToken {
		if info := p.lookupToken(token, now); info.isAccess && info.active {
			party := &exchangeParty{subject: info.client.ID, scopes: p.scopeList(info.scopes)}
			if info.grant != nil {
				party.subject, party.family = info.grant.subject, info.grant.id
			}
			if claims, ok := p.ownJWTClaims(token, now); ok {
				party.act = claims.Act
			}
			return party, nil
		}
	}
	if tokenType != TokenTypeAccessToken {
		if claims, ok := p.ownJWTClaims(token, now); ok && claims.Subject != "" {
			return &exchangeParty{subject: claims.Subject, act: claims.Act}, nil
		}
	}
	return nil, invalidRequest(field + " is not an active token this provider issued")
}

// ownJWTClaims are the claims of a JWT the provider signed with a key it
// still publishes, with an issuer of its own and not expired.
func (p *Provider) ownJWTClaims(token string, now time.Time) (exchangeClaims, bool) {
	payload, ok := p.ownJWT(token, now)
	if !ok {
		return exchangeClaims{}, false
	}
	var c exchangeClaims
	if json.Unmarshal(payload, &c) != nil || c.Issuer != p.issuer || c.Expiry == 0 || now.Unix() >= c.Expiry {
		return exchangeClaims{}, false
	}
	return c, true
}

// ownJWT is the payload of a compact JWS the provider signed with a key it
// still publishes; the claims are the caller's to check.
func (p *Provider) ownJWT(token string, now time.Time) ([]byte, bool) {
	if strings.Count(token, ".") != 2 {
		return nil, false
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{p.keys.alg})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, false
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, k := range p.keys.published(now, false, false) {
		if k.KeyID == kid {
			payload, err := jws.Verify(k.Key)
			return payload, err == nil
		}
	}
	return nil, false
}

// exchangeClaims are the claims token exchange reads from a JWT.
type exchangeClaims struct {
	Issuer  string          `json:"iss"`
	Subject string          `json:"sub"`
	Expiry  int64           `json:"exp"`
	Act     json.RawMessage `json:"act"`
}

// exchangeScopes is the scope of the exchanged token: what the client asks
// for (default: the subject token's scope, or the client's default scopes
// for a subject without one), within the client's scopes and never wider
// than the subject token's (RFC 8693 2.1 leaves the policy to the server;
// widening would turn an exchange into an escalation).
func (p *Provider) exchangeScopes(client *Client, subject *exchangeParty, requested string) ([]string, *oauthError) {
	if requested == "" && subject.scopes != nil {
		var kept []string
		for _, s := range subject.scopes {
			if slices.Contains(client.Scopes, s) {
				kept = append(kept, s)
			}
		}
		return kept, nil
	}
	scopes, oerr := p.resolveScope(client, requested)
	if oerr != nil {
		return nil, oerr
	}
	if subject.scopes != nil {
		for _, s := range scopes {
			if !slices.Contains(subject.scopes, s) {
				return nil, invalidScope("scope " + truncate(s, 40) + " is wider than the subject token's")
			}
		}
	}
	return scopes, nil
}

// mintExchanged issues the exchanged access token: sub is the subject's,
// aud the requested audiences (else the client's usual audience), and act
// names the actor, with the subject token's own actor chain nested inside
// (RFC 8693 4.1). The access record shares the subject's grant, so that
// revoking the grant revokes the exchanged token too.
func (p *Provider) mintExchanged(c *Client, subject, actor *exchangeParty, aud Audience, scopes []string, now time.Time) (tokenResponse, error) {
	lifetime := p.cfg.Lifetimes.AccessToken
	exp := now.Add(lifetime)
	set := p.scopeSetOf(scopes)
	rec := accessRecord{client: p.clientIndex(c.ID), family: subject.family, scopes: set, issuedAt: now.UnixNano(), exp: exp.UnixNano()}
	_, _ = rand.Read(rec.jti[:])
	scope := p.scopeString(set)
	var token string
	if p.cfg.AccessTokenFormat == AccessTokenOpaque {
		token = p.newSecretFor(c)
	} else {
		claims := newJSONObject(512)
		claims.str("iss", p.issuer)
		claims.str("sub", subject.subject)
		switch {
		case len(aud) > 0:
			claims.raw("aud", aud.claimJSON())
		case c.claims.audience != nil:
			claims.raw("aud", c.claims.audience)
		case p.cfg.AccessTokenAudience != "":
			claims.str("aud", p.cfg.AccessTokenAudience)
		default:
			claims.str("aud", c.ID)
		}
		claims.str("client_id", c.ID)
		claims.strIf("scope", scope)
		claims.str("jti", base64.RawURLEncoding.EncodeToString(rec.jti[:]))
		claims.int("iat", now.Unix())
		claims.int("nbf", now.Unix())
		claims.int("exp", exp.Unix())
		if act := actClaim(actor, subject); act != nil {
			claims.raw("act", act)
		}
		appendRawClaims(claims, c.claims.access)
		var err error
		if token, err = sign(p.keys.signer().access, claims.bytes()); err != nil {
			return tokenResponse{}, err
		}
	}
	p.store.mu.Lock()
	p.store.access.put(keyOf(token), rec, now)
	p.store.mu.Unlock()
	p.counters.countIssued(issuedAccessToken)
	return tokenResponse{accessToken: token, expiresIn: int64(lifetime / time.Second), scope: scope}, nil
}

// actClaim is the act claim of RFC 8693 4.1: {"sub": actor} with the
// subject token's act, the prior actors, nested as its own act; the
// subject token's act alone when no actor acts now.
func actClaim(actor, subject *exchangeParty) json.RawMessage {
	if actor == nil {
		return subject.act
	}
	o := newJSONObject(128)
	o.str("sub", actor.subject)
	if len(subject.act) > 0 && string(subject.act) != "null" {
		o.raw("act", subject.act)
	}
	return o.bytes()
}
