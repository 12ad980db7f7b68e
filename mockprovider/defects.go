package mockprovider

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A defect mode breaks exactly one behaviour that a check of catalog/CHECKS.md
// verifies, so that the harness can prove the check fails when the provider
// misbehaves. Each is switched on for the whole provider or for one client;
// the code that implements a behaviour asks p.defect(client, id) at the one
// place the behaviour lives.
type defectID int

const (
	dNoCacheHeaders defectID = iota
	dStateDropped
	dCodeReuse
	dCodeRace
	dCodeNeverExpires
	dCodeNotBoundToClient
	dTokenRedirectURIUnchecked
	dPKCEVerifierOptional
	dPKCEUnchecked
	dPKCEDowngrade
	dPKCEPlainAllowed
	dPKCEOptionalPublic
	dUnknownParamRejected
	dDuplicateParamsAllowed
	dResponseTypeUnchecked
	dDenyIgnored
	dOpenRedirect
	dRedirectPrefixMatch
	dRedirectDefaultFirst
	dErrorToUnregistered
	dFrameableLogin
	dWrongResponseIss
	dRedirect307
	dCCRefreshToken
	dNoWWWAuthenticate
	dClientSecretUnchecked
	dGrantNotRestricted
	dWrongErrorCode
	dScopeUnchecked
	dTokenGetAllowed
	dPanicOnBadInput
	dRefreshScopeWidened
	dRefreshNotBound
	dRefreshNoClientAuth
	dNoRefreshRotation
	dNoReuseDetection
	dRefreshRace
	dRefreshNeverExpires
	dDevicePendingWrong
	dNoSlowDown
	dDeviceDenyIgnored
	dDeviceCodeNeverExpires
	dDeviceCodeReuse
	dPasswordAlwaysOn
	dImplicitAlwaysOn
	dImplicitRefreshToken
	dBadSignature
	dAlgNone
	dWrongIss
	dWrongAud
	dExpMismatch
	dNonceDropped
	dBadAtHash
	dWrongTyp
	dRotationDropsOldKey
	dWeakTokens
	dExpiredStillActive
	dRevokeNoop
	dMetadataIssuerMismatch
	dJWKSLeaksPrivate
	dIntrospectLeaks
	dIntrospectOpen
	dRevokeUnknownError
	dRevokeNotBound
	dCodeReuseKeepsTokens
	dRevokeKeepsAccessTokens
	dFamilyAccessTokensSurvive
	dLargeBodyReset
	dGrantNotRestrictedHidden
	dUnadvertisedAlg
	dAccessTokenAlgNone
	dAccessTokenBadSignature
	dRotationKeepsOldKey
	dRotationPruneDropsCurrent
	dScopeChangeUnreported
	defectCount
)

// DefectInfo describes one defect mode.
type DefectInfo struct {
	// Name is the defect column of catalog/CHECKS.md.
	Name string `json:"name"`
	// Checks are the IDs of the checks it must make fail.
	Checks []string `json:"checks"`
	// Warns are the IDs of the checks it must make warn: it breaks a SHOULD
	// of theirs, which is a warning (a failure under `conform --strict`).
	Warns []string `json:"warns,omitempty"`
	// Breaks says what the provider does wrong with it on.
	Breaks string `json:"breaks"`
	// ProviderOnly defects have no client in context (metadata, JWKS, keys)
	// and cannot be switched on for one client.
	ProviderOnly bool `json:"provider_only"`
}

var defectCatalogue = [defectCount]DefectInfo{
	dNoCacheHeaders:            {"no_cache_headers", []string{"AC1"}, nil, "token endpoint responses lack Cache-Control: no-store", false},
	dStateDropped:              {"state_dropped", []string{"AC1", "B8"}, nil, "authorization responses leave out state", false},
	dCodeReuse:                 {"code_reuse", []string{"AC2"}, nil, "a code can be redeemed again, and nothing is revoked", false},
	dCodeRace:                  {"code_race", []string{"AC3"}, nil, "redeeming a code checks and marks it used in two steps, so parallel redemptions all win", false},
	dCodeNeverExpires:          {"code_never_expires", []string{"AC4"}, nil, "codes never expire", false},
	dCodeNotBoundToClient:      {"code_not_bound_to_client", []string{"AC5"}, nil, "any client can redeem a code", false},
	dTokenRedirectURIUnchecked: {"token_redirect_uri_unchecked", []string{"AC6"}, nil, "the token request's redirect_uri is not compared", false},
	dPKCEVerifierOptional:      {"pkce_verifier_optional", []string{"AC7"}, nil, "a code with a challenge is redeemed without a code_verifier", false},
	dPKCEUnchecked:             {"pkce_unchecked", []string{"AC8"}, nil, "any code_verifier is accepted", false},
	dPKCEDowngrade:             {"pkce_downgrade", []string{"AC9"}, nil, "a code_verifier is accepted for a code issued without a challenge", false},
	dPKCEPlainAllowed:          {"pkce_plain_allowed", []string{"AC10"}, nil, "code_challenge_method=plain and verifiers under 43 characters are accepted", false},
	dPKCEOptionalPublic:        {"pkce_optional_public", []string{"AC11"}, nil, "public clients may leave out code_challenge", false},
	dUnknownParamRejected:      {"unknown_param_rejected", []string{"AC12"}, nil, "an unknown authorization parameter gets invalid_request", false},
	dDuplicateParamsAllowed:    {"duplicate_params_allowed", []string{"AC13"}, nil, "repeated authorization parameters are accepted (first wins)", false},
	dResponseTypeUnchecked:     {"response_type_unchecked", []string{"AC14"}, nil, "a missing or unknown response_type is treated as code", false},
	dDenyIgnored:               {"deny_ignored", []string{"AC15"}, nil, "Deny on the consent page issues a code like Approve", false},
	dOpenRedirect:              {"open_redirect", []string{"B1"}, nil, "an unregistered redirect_uri is redirected to", false},
	dRedirectPrefixMatch:       {"redirect_prefix_match", []string{"B2"}, nil, "a redirect_uri matches when it starts with a registered one", false},
	dRedirectDefaultFirst:      {"redirect_default_first", []string{"B3"}, nil, "no redirect_uri with several registered uses the first", false},
	dErrorToUnregistered:       {"error_to_unregistered", []string{"B4"}, nil, "scope and response_type errors are checked before the redirect_uri and sent to whatever redirect_uri was given", false},
	dFrameableLogin:            {"frameable_login", []string{"B5"}, nil, "pages send no X-Frame-Options and no CSP frame-ancestors", false},
	dWrongResponseIss:          {"wrong_response_iss", []string{"B6"}, nil, "the iss authorization response parameter names another issuer", false},
	dRedirect307:               {"redirect_307", []string{"B7"}, nil, "the login POST answers 307", false},
	dCCRefreshToken:            {"cc_refresh_token", []string{"C1"}, nil, "client_credentials responses carry a refresh token", false},
	dNoWWWAuthenticate:         {"no_www_authenticate", []string{"C2"}, nil, "401 invalid_client comes without WWW-Authenticate", false},
	dClientSecretUnchecked:     {"client_secret_unchecked", []string{"C3"}, nil, "client_secret in the body is not checked", false},
	dGrantNotRestricted:        {"grant_not_restricted", []string{"C4"}, nil, "clients may use authorization_code, client_credentials, refresh_token and device grants they are not registered for", false},
	dWrongErrorCode:            {"wrong_error_code", []string{"C5", "C9"}, nil, "an unknown grant_type gets the non-RFC error unknown_grant", false},
	dScopeUnchecked:            {"scope_unchecked", []string{"C6"}, nil, "the token endpoint does not check requested scopes", false},
	dTokenGetAllowed:           {"token_get_allowed", []string{"C7"}, nil, "the token endpoint takes GET and parameters in the query", false},
	dPanicOnBadInput:           {"panic_on_bad_input", []string{"C8"}, nil, "a malformed token request body crashes the handler: the connection drops without a response", false},
	dRefreshScopeWidened:       {"refresh_scope_widened", []string{"R1"}, nil, "a refresh may widen the scope to anything the client may ask for", false},
	dRefreshNotBound:           {"refresh_not_bound", []string{"R2"}, nil, "any client can use a refresh token", false},
	dRefreshNoClientAuth:       {"refresh_no_client_auth", []string{"R3"}, nil, "a confidential client refreshes with only its client_id", false},
	dNoRefreshRotation:         {"no_refresh_rotation", []string{"R4"}, nil, "refresh tokens are not rotated and stay valid after use", false},
	dNoReuseDetection:          {"no_reuse_detection", []string{"R4"}, nil, "replaying a rotated refresh token is refused but revokes nothing", false},
	dRefreshRace:               {"refresh_race", []string{"R5"}, nil, "a refresh checks and marks the token used in two steps, so parallel refreshes all win", false},
	dRefreshNeverExpires:       {"refresh_never_expires", []string{"R6"}, nil, "refresh tokens never expire", false},
	dDevicePendingWrong:        {"device_pending_wrong", []string{"D2"}, nil, "polls before the user decides get slow_down instead of authorization_pending", false},
	dNoSlowDown:                {"no_slow_down", []string{"D3"}, nil, "polling faster than the interval is not answered with slow_down", false},
	dDeviceDenyIgnored:         {"device_deny_ignored", []string{"D4"}, nil, "a denied device request stays pending", false},
	dDeviceCodeNeverExpires:    {"device_code_never_expires", []string{"D5"}, nil, "device codes never expire", false},
	dDeviceCodeReuse:           {"device_code_reuse", []string{"D6"}, nil, "a device code can be exchanged again after tokens were issued", false},
	dPasswordAlwaysOn:          {"password_always_on", []string{"L1"}, nil, "every confidential client may use the password grant", false},
	dImplicitAlwaysOn:          {"implicit_always_on", []string{"L2"}, nil, "every client may use response_type=token", false},
	dImplicitRefreshToken:      {"implicit_refresh_token", []string{"L3"}, nil, "implicit responses carry a refresh token", false},
	dBadSignature:              {"bad_signature", []string{"T1"}, nil, "JWT signatures are corrupted", false},
	dAlgNone:                   {"alg_none", []string{"T1"}, nil, "JWTs are unsigned (alg none)", false},
	dWrongIss:                  {"wrong_iss", []string{"T2"}, nil, "JWTs name another issuer", false},
	dWrongAud:                  {"wrong_aud", []string{"T2"}, nil, "JWTs name another audience", false},
	dExpMismatch:               {"exp_mismatch", []string{"T3"}, nil, "JWT exp is ten times later than expires_in says", false},
	dNonceDropped:              {"nonce_dropped", []string{"T4"}, nil, "ID tokens leave out nonce", false},
	dBadAtHash:                 {"bad_at_hash", []string{"T4"}, nil, "ID token at_hash is the hash of something else", false},
	dWrongTyp:                  {"wrong_typ", []string{"T5"}, nil, "JWT access tokens have typ JWT, not at+jwt", false},
	dRotationDropsOldKey:       {"rotation_drops_old_key", []string{"T6"}, nil, "a key rotation removes the old key from the JWKS at once", true},
	dWeakTokens:                {"weak_tokens", []string{"T7"}, nil, "codes, refresh tokens, device codes and opaque tokens carry 32 random bits", false},
	dExpiredStillActive:        {"expired_still_active", []string{"E1"}, nil, "expired access tokens stay active for introspection and userinfo", false},
	dRevokeNoop:                {"revoke_noop", []string{"E3"}, nil, "revocation answers 200 and revokes nothing", false},
	dMetadataIssuerMismatch:    {"metadata_issuer_mismatch", []string{"M1"}, nil, "the discovery documents name the issuer with a trailing slash", true},
	dJWKSLeaksPrivate:          {"jwks_leaks_private", []string{"M2"}, nil, "the JWKS holds the private key members", true},
	dIntrospectLeaks:           {"introspect_leaks", []string{"I1"}, nil, "inactive tokens are introspected with client_id, scope and exp besides active:false", false},
	dIntrospectOpen:            {"introspect_open", []string{"I2"}, nil, "introspection takes unauthenticated callers", false},
	dRevokeUnknownError:        {"revoke_unknown_error", []string{"V1"}, nil, "revoking an unknown token gets 400", false},
	dRevokeNotBound:            {"revoke_not_bound", []string{"V2"}, nil, "a client can revoke another client's token", false},
	dCodeReuseKeepsTokens:      {"code_reuse_keeps_tokens", nil, []string{"AC2"}, "a reused code is refused, but the tokens of its first redemption stay valid", false},
	dRevokeKeepsAccessTokens:   {"revoke_keeps_access_tokens", nil, []string{"E3"}, "revoking a refresh token leaves the access tokens of its grant active", false},
	dScopeChangeUnreported:     {"scope_change_unreported", nil, []string{"C6"}, "client credentials requests have the scopes the client may not have dropped, and the response leaves out scope though the grant differs from the request", false},
	dRotationPruneDropsCurrent: {"rotation_prune_drops_current", []string{"T6"}, nil, "once a rotated-out key leaves the JWKS, the current key leaves with it", true},
	dRotationKeepsOldKey:       {"rotation_keeps_old_key", nil, []string{"T6"}, "a rotated-out key stays in the JWKS long after every token it signed has expired", true},
	dUnadvertisedAlg:           {"unadvertised_alg", []string{"T1"}, nil, "the discovery documents advertise the signing algorithm the provider does not use (ES256 for RS256 tokens)", true},
	dAccessTokenAlgNone:        {"access_token_alg_none", []string{"T1", "T2", "T3", "T5"}, nil, "JWT access tokens (not ID tokens) are unsigned (alg none)", false},
	dAccessTokenBadSignature:   {"access_token_bad_signature", []string{"T1", "T2", "T3", "T5"}, nil, "JWT access token (not ID token) signatures are corrupted", false},
	dGrantNotRestrictedHidden:  {"grant_not_restricted_hidden", []string{"C4", "L1"}, nil, "confidential clients may use every grant, password included, while a public client asking for client_credentials is turned away as invalid_client", false},
	dLargeBodyReset:            {"large_body_reset", []string{"C8"}, nil, "a token request body over limits.max_body_bytes drops the connection without a response", false},
	dFamilyAccessTokensSurvive: {"family_access_tokens_survive", []string{"R4"}, nil, "replaying a rotated refresh token revokes the family's refresh tokens but not its access tokens", false},
}

// Defects lists every defect mode, sorted by name.
func Defects() []DefectInfo {
	out := make([]DefectInfo, 0, defectCount)
	for _, d := range defectCatalogue {
		d.Checks = slices.Clone(d.Checks)
		d.Warns = slices.Clone(d.Warns)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkDefect is the one check of a defect name, wherever it comes from (the
// configuration, a --defect flag, the admin API): it must be in the
// catalogue, and one that can apply per client when it is given for one.
func checkDefect(name string, perClient bool) (defectID, error) {
	for i, d := range defectCatalogue {
		if d.Name != name {
			continue
		}
		if perClient && d.ProviderOnly {
			return 0, fmt.Errorf("%s applies to the whole provider only", name)
		}
		return defectID(i), nil
	}
	return 0, fmt.Errorf("unknown defect %q (grantbench provider --list-defects)", truncate(name, 60))
}

// AddDefect switches on the defect a --defect value names: NAME for the whole
// provider, CLIENT:NAME for one of the configuration's clients. The error
// names the field the defect would have gone to.
func (c *Config) AddDefect(value string) error {
	clientID, name, perClient := strings.Cut(value, ":")
	if !perClient {
		if _, err := checkDefect(value, false); err != nil {
			return fieldErr(fmt.Sprintf("defects[%d]", len(c.Defects)), "%v", err)
		}
		c.Defects = append(c.Defects, value)
		return nil
	}
	i := slices.IndexFunc(c.Clients, func(cl Client) bool { return cl.ID == clientID })
	if i < 0 {
		return fmt.Errorf("defect %q: no client %q", truncate(value, 100), truncate(clientID, 60))
	}
	if _, err := checkDefect(name, true); err != nil {
		return fieldErr(fmt.Sprintf("clients[%d].defects[%d]", i, len(c.Clients[i].Defects)), "%v", err)
	}
	c.Clients[i].Defects = append(c.Clients[i].Defects, name)
	return nil
}

// defectBits is a set of defects.
type defectBits [2]uint64

func (b *defectBits) set(id defectID)     { b[id/64] |= 1 << (id % 64) }
func (b defectBits) has(id defectID) bool { return b[id/64]&(1<<(id%64)) != 0 }

func (b defectBits) names() []string {
	out := []string{}
	for i := range defectCount {
		if b.has(i) {
			out = append(out, defectCatalogue[i].Name)
		}
	}
	return out
}

// DefectSettings says which defects are on, for the provider and per client.
type DefectSettings struct {
	Provider []string            `json:"provider" yaml:"provider"`
	Clients  map[string][]string `json:"clients,omitempty" yaml:"clients,omitempty"`
}

// activeDefects is the compiled form of DefectSettings, swapped as a whole.
type activeDefects struct {
	provider defectBits
	clients  map[string]defectBits
	any      bool
}

func (p *Provider) compileDefects(s DefectSettings) (*activeDefects, error) {
	a := &activeDefects{clients: map[string]defectBits{}}
	for i, name := range s.Provider {
		id, err := checkDefect(name, false)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("defects[%d]", i), "%v", err)
		}
		a.provider.set(id)
		a.any = true
	}
	for clientID, names := range s.Clients {
		if p.clients[clientID] == nil {
			return nil, fieldErr("defects.clients."+clientID, "no such client")
		}
		var bits defectBits
		for i, name := range names {
			id, err := checkDefect(name, true)
			if err != nil {
				return nil, fieldErr(fmt.Sprintf("clients.%s.defects[%d]", clientID, i), "%v", err)
			}
			bits.set(id)
			a.any = true
		}
		a.clients[clientID] = bits
	}
	return a, nil
}

// SetDefects replaces the defects in force (as PUT /admin/defects does).
func (p *Provider) SetDefects(s DefectSettings) error {
	a, err := p.compileDefects(s)
	if err != nil {
		return err
	}
	p.defects.Store(a)
	if a.any {
		p.log.Warn("defect modes on: the provider now breaks the spec on purpose", "defects", strings.Join(describeDefects(a), ", "))
	}
	return nil
}

// DefectsInForce reports the defects switched on.
func (p *Provider) DefectsInForce() DefectSettings {
	a := p.defects.Load()
	out := DefectSettings{Provider: a.provider.names(), Clients: map[string][]string{}}
	for id, bits := range a.clients {
		if names := bits.names(); len(names) > 0 {
			out.Clients[id] = names
		}
	}
	return out
}

func describeDefects(a *activeDefects) []string {
	out := a.provider.names()
	for id, bits := range a.clients {
		for _, n := range bits.names() {
			out = append(out, id+":"+n)
		}
	}
	sort.Strings(out)
	return out
}

// defect reports whether id is on for the provider or for client c (which
// may be nil when no client is known yet).
func (p *Provider) defect(c *Client, id defectID) bool {
	a := p.defects.Load()
	if !a.any {
		return false
	}
	if a.provider.has(id) {
		return true
	}
	if c == nil {
		return false
	}
	return a.clients[c.ID].has(id)
}

// defectFor is defect with the client named by id (a request's client_id
// before it is authenticated).
func (p *Provider) defectFor(clientID string, id defectID) bool {
	return p.defect(p.clients[clientID], id)
}
