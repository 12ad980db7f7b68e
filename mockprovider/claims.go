package mockprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v3"
)

// Claims a test needs, from three places (docs/mockprovider.md, "Claims per
// user, per client and per request"):
//   - a user's claims beyond the standard ones (roles, groups, nested
//     objects, arrays) go into every ID token, access token and userinfo
//     answer that user has;
//   - a client's access_token_claims, id_token_claims and audience go into
//     every token issued to it;
//   - a claims override (admin API or AddClaimsOverride) bends the next
//     token of a client or user, once or until cleared, and may set any
//     claim, remove one (null) and change the kid and typ headers.
//
// The configured claims are rendered to JSON once, at New, so that the token
// path appends bytes; only a matching override decodes and re-encodes.

// Audience is an aud value: one string or several. YAML and JSON accept
// either a string or a list.
type Audience []string

// UnmarshalYAML takes a string or a list of strings.
func (a *Audience) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return errors.New("audience must be a string or a list of strings")
	}
	*a = list
	return nil
}

// UnmarshalJSON takes a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	*a = list
	return nil
}

// claimJSON renders the aud claim: a string for one audience, an array for
// several (RFC 7519 4.1.3).
func (a Audience) claimJSON() []byte {
	if len(a) == 1 {
		return appendJSONString(nil, a[0])
	}
	b, _ := json.Marshal([]string(a)) // strings always marshal
	return b
}

func (a Audience) validate(field string) error {
	for i, s := range a {
		if s == "" {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "an audience may not be empty")
		}
	}
	return nil
}

// rawClaim is one claim rendered to JSON.
type rawClaim struct {
	name  string
	value []byte
}

// renderClaims renders claims in name order, so tokens are stable.
func renderClaims(claims map[string]any) ([]rawClaim, error) {
	out := make([]rawClaim, 0, len(claims))
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		b, err := json.Marshal(jsonCompatible(claims[name]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, rawClaim{name: name, value: b})
	}
	return out, nil
}

// jsonCompatible turns what YAML may decode (maps with non-string keys) into
// values encoding/json takes.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonCompatible(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonCompatible(e)
		}
		return out
	}
	return v
}

func appendRawClaims(o *jsonObject, claims []rawClaim) {
	for _, c := range claims {
		o.raw(c.name, c.value)
	}
}

// validateClaimNames refuses the claims the provider sets itself in
// configured claims (an override may bend those; configuration may not).
func validateClaimNames(field string, claims map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		if k == "" {
			return fieldErr(field, "a claim name may not be empty")
		}
		if _, reserved := reservedClaims[k]; reserved {
			return fieldErr(field+"."+k, "is set by the provider and cannot be configured (a claims override can bend it)")
		}
		if _, err := json.Marshal(jsonCompatible(claims[k])); err != nil {
			return fieldErr(field+"."+k, "cannot be written as JSON: %v", err)
		}
	}
	return nil
}

// standardUserClaims are the claims the OIDC scopes release (OIDC Core
// 5.4); a user's other claims are released whatever the scope.
var standardUserClaims = func() map[string]bool {
	m := map[string]bool{}
	for _, names := range scopeClaims {
		for _, n := range names {
			m[n] = true
		}
	}
	return m
}()

// clientClaims is a client's configured extra claims, rendered.
type clientClaims struct {
	access   []rawClaim
	id       []rawClaim
	audience []byte // nil: the provider's default audience
}

// prepareClaims renders a validated client's and the users' configured
// claims; the errors cannot happen after Validate.
func prepareClientClaims(c *Client) error {
	var cc clientClaims
	var err error
	if cc.access, err = renderClaims(c.AccessTokenClaims); err != nil {
		return err
	}
	if cc.id, err = renderClaims(c.IDTokenClaims); err != nil {
		return err
	}
	if len(c.Audience) > 0 {
		cc.audience = c.Audience.claimJSON()
	}
	c.claims = cc
	return nil
}

// prepareUser fills in the subject and renders the user's non-standard claims.
func prepareUser(u *User) error {
	if u.Subject == "" {
		u.Subject = u.Username
	}
	custom := map[string]any{}
	for k, v := range u.Claims {
		if !standardUserClaims[k] {
			custom[k] = v
		}
	}
	var err error
	u.custom, err = renderClaims(custom)
	return err
}

// Header names a claims override may set.
const (
	HeaderKID = "kid"
	HeaderTyp = "typ"
)

// MaxClaimsOverrides bounds the overrides in force at once.
const MaxClaimsOverrides = 64

// ClaimsOverride bends the next token a client or user gets (POST
// /admin/claims takes the same JSON). The empty ClientID and User match any;
// an override with neither applies to the next token of anyone.
type ClaimsOverride struct {
	// ClientID limits the override to tokens issued to this client.
	ClientID string `json:"client_id,omitempty"`
	// User limits it to tokens of this user (username or subject); a
	// client_credentials token has no user and never matches.
	User string `json:"user,omitempty"`
	// AccessToken and IDToken are claims set in the access token and in the
	// ID token; a null value removes the claim. Any claim may be set,
	// including iss, aud and exp.
	AccessToken map[string]any `json:"access_token,omitempty"`
	IDToken     map[string]any `json:"id_token,omitempty"`
	// AccessTokenHeader and IDTokenHeader set the kid and typ JOSE headers.
	AccessTokenHeader map[string]string `json:"access_token_header,omitempty"`
	IDTokenHeader     map[string]string `json:"id_token_header,omitempty"`
	// Sticky keeps the override until ClearClaimsOverrides; otherwise it
	// bends one access token and one ID token (each part once) and goes.
	Sticky bool `json:"sticky,omitempty"`
}

func (o *ClaimsOverride) validate() error {
	if len(o.AccessToken) == 0 && len(o.IDToken) == 0 && len(o.AccessTokenHeader) == 0 && len(o.IDTokenHeader) == 0 {
		return &RequestError{Field: "access_token", Msg: "the override sets nothing: give access_token, id_token, access_token_header or id_token_header"}
	}
	for field, claims := range map[string]map[string]any{"access_token": o.AccessToken, "id_token": o.IDToken} {
		for k, v := range claims {
			if k == "" {
				return &RequestError{Field: field, Msg: "a claim name may not be empty"}
			}
			if _, err := json.Marshal(v); err != nil {
				return &RequestError{Field: field + "." + k, Msg: "cannot be written as JSON"}
			}
		}
	}
	for field, h := range map[string]map[string]string{"access_token_header": o.AccessTokenHeader, "id_token_header": o.IDTokenHeader} {
		if err := validateHeaderOverride(field, h); err != nil {
			return err
		}
	}
	return nil
}

func validateHeaderOverride(field string, h map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if k != HeaderKID && k != HeaderTyp {
			return &RequestError{Field: field + "." + k, Msg: "only kid and typ can be set"}
		}
		if h[k] == "" {
			return &RequestError{Field: field + "." + k, Msg: "may not be empty"}
		}
	}
	return nil
}

// RequestError is a bad admin or Go API request, naming the field at fault.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string { return "mockprovider: " + e.Field + ": " + e.Msg }

// tokenKind says which token an override part bends.
type tokenKind int

const (
	kindAccess tokenKind = iota
	kindID
)

// pendingOverride is an override in force with the parts still to apply.
type pendingOverride struct {
	ClaimsOverride
	accessLeft, idLeft bool
}

// overrideSet holds the overrides in force, oldest first.
type overrideSet struct {
	// n is len(list), read without the lock: the token path skips the lock
	// when no override is set.
	n    atomic.Int32
	mu   sync.Mutex
	list []*pendingOverride
}

// tokenOverride is what one token gets from an override.
type tokenOverride struct {
	claims map[string]any
	header map[string]string
}

// take returns the override part for the next token of kind for client c
// and user u (nil for none), spending it when it is one-shot.
func (s *overrideSet) take(c *Client, u *User, kind tokenKind) *tokenOverride {
	if s.n.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.list {
		left := o.accessLeft
		if kind == kindID {
			left = o.idLeft
		}
		if !left || !o.matches(c, u) {
			continue
		}
		out := &tokenOverride{claims: o.AccessToken, header: o.AccessTokenHeader}
		if kind == kindID {
			out.claims, out.header = o.IDToken, o.IDTokenHeader
		}
		if !o.Sticky {
			if kind == kindID {
				o.idLeft = false
			} else {
				o.accessLeft = false
			}
			if !o.accessLeft && !o.idLeft {
				s.list = slices.Delete(s.list, i, i+1)
				s.n.Store(int32(len(s.list)))
			}
		}
		return out
	}
	return nil
}

func (o *pendingOverride) matches(c *Client, u *User) bool {
	if o.ClientID != "" && (c == nil || c.ID != o.ClientID) {
		return false
	}
	if o.User != "" && (u == nil || (u.Username != o.User && u.Subject != o.User)) {
		return false
	}
	return true
}

// AddClaimsOverride makes the next access and ID tokens of o.ClientID and
// o.User carry o's claims and headers (as POST /admin/claims does). At most
// MaxClaimsOverrides are in force at once.
func (p *Provider) AddClaimsOverride(o ClaimsOverride) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.ClientID != "" && p.client(o.ClientID) == nil {
		return &RequestError{Field: "client_id", Msg: fmt.Sprintf("%q is not a registered client", truncate(o.ClientID, 64))}
	}
	// A copy, so that the caller's maps stay theirs.
	o.AccessToken, o.IDToken = maps.Clone(o.AccessToken), maps.Clone(o.IDToken)
	o.AccessTokenHeader, o.IDTokenHeader = maps.Clone(o.AccessTokenHeader), maps.Clone(o.IDTokenHeader)
	s := &p.overrides
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.list) >= MaxClaimsOverrides {
		return &RequestError{Field: "overrides", Msg: fmt.Sprintf("at most %d overrides at once; clear them first (DELETE /admin/claims)", MaxClaimsOverrides)}
	}
	s.list = append(s.list, &pendingOverride{ClaimsOverride: o,
		accessLeft: len(o.AccessToken) > 0 || len(o.AccessTokenHeader) > 0,
		idLeft:     len(o.IDToken) > 0 || len(o.IDTokenHeader) > 0})
	s.n.Store(int32(len(s.list)))
	return nil
}

// ClaimsOverrides returns the overrides in force, oldest first.
func (p *Provider) ClaimsOverrides() []ClaimsOverride {
	s := &p.overrides
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClaimsOverride, 0, len(s.list))
	for _, o := range s.list {
		out = append(out, o.ClaimsOverride)
	}
	return out
}

// ClearClaimsOverrides removes every override (DELETE /admin/claims).
func (p *Provider) ClearClaimsOverrides() {
	s := &p.overrides
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = nil
	s.n.Store(0)
}

// mergeClaims applies set to a rendered claims object: each member replaces
// the claim of its name, a null removes it.
func mergeClaims(claims []byte, set map[string]any) ([]byte, error) {
	if len(set) == 0 {
		return claims, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(claims, &m); err != nil {
		return nil, fmt.Errorf("mockprovider: claims override: %w", err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("mockprovider: claims override %s: %w", k, err)
		}
		m[k] = b
	}
	return json.Marshal(m)
}

// headerSigner returns a signer for key whose kid and typ headers are
// header's where set, else the key's kid and typ. It is built per use: only
// overridden tokens take this path.
func headerSigner(key *signingKey, typ string, header map[string]string) (jose.Signer, error) {
	jwk := key.private
	if kid := header[HeaderKID]; kid != "" {
		jwk.KeyID = kid
	}
	if t := header[HeaderTyp]; t != "" {
		typ = t
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: jwk}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return nil, fmt.Errorf("mockprovider: header override signer: %w", err)
	}
	return s, nil
}

// applyOverride returns the claims and signer of a token that an override
// bends; without one, both unchanged.
func applyOverride(ov *tokenOverride, claims []byte, key *signingKey, signer jose.Signer, typ string) ([]byte, jose.Signer, error) {
	if ov == nil {
		return claims, signer, nil
	}
	claims, err := mergeClaims(claims, ov.claims)
	if err != nil {
		return nil, nil, err
	}
	if len(ov.header) > 0 {
		if signer, err = headerSigner(key, typ, ov.header); err != nil {
			return nil, nil, err
		}
	}
	return claims, signer, nil
}

// claimsOverrideFromJSON decodes POST /admin/claims, naming a bad field.
func decodeOverride(body []byte) (ClaimsOverride, error) {
	var o ClaimsOverride
	if err := strictJSON(body, &o); err != nil {
		return o, err
	}
	return o, nil
}

// strictJSON decodes one JSON object with no unknown fields; the error names
// the field when encoding/json can tell it.
func strictJSON(body []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &RequestError{Field: te.Field, Msg: "has the wrong type (want " + te.Type.String() + ")"}
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &RequestError{Field: strings.Trim(name, `"`), Msg: "is not a known field"}
		}
		return &RequestError{Field: "body", Msg: "must be one JSON object: " + err.Error()}
	}
	if dec.More() {
		return &RequestError{Field: "body", Msg: "must be one JSON object"}
	}
	return nil
}
