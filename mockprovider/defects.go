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
	// Checks are the IDs of the checks CHECKS.md names for it: the ones it is
	// there to prove able to fail. Always a subset of Breaks.
	Checks []string `json:"checks"`
	// Breaks is every check that fails with the defect on and the whole
	// catalogue run against the mock, as the mutation matrix measured it
	// (suites/matrix asserts it exactly): Checks and the checks that depend
	// on the broken behaviour.
	Breaks []string `json:"breaks"`
	// Warns is every check that passes with a warning (a SHOULD not met)
	// with the defect on, asserted exactly like Breaks.
	Warns []string `json:"warns,omitempty"`
	// Does says what the provider does wrong with it on.
	Does string `json:"does"`
	// ProviderOnly defects have no client in context (metadata, JWKS, keys)
	// and cannot be switched on for one client.
	ProviderOnly bool `json:"provider_only"`
}

var defectCatalogue = [defectCount]DefectInfo{
	dNoCacheHeaders: {Name: "no_cache_headers", Checks: []string{"AC1"}, Breaks: []string{"AC1", "C9"},
		Does: "token endpoint responses lack Cache-Control: no-store"},
	dStateDropped: {Name: "state_dropped", Checks: []string{"AC1", "B8"}, Breaks: []string{"AC1", "AC15", "B8", "L2", "L3"},
		Does: "authorization responses leave out state"},
	dCodeReuse: {Name: "code_reuse", Checks: []string{"AC2"}, Breaks: []string{"AC2", "AC3"},
		Does: "a code can be redeemed again, and nothing is revoked"},
	dCodeRace: {Name: "code_race", Checks: []string{"AC3"}, Breaks: []string{"AC3"},
		Does: "redeeming a code checks and marks it used in two steps, so parallel redemptions all win"},
	dCodeNeverExpires: {Name: "code_never_expires", Checks: []string{"AC4"}, Breaks: []string{"AC4"},
		Does: "codes never expire"},
	dCodeNotBoundToClient: {Name: "code_not_bound_to_client", Checks: []string{"AC5"}, Breaks: []string{"AC5"},
		Does: "any client can redeem a code"},
	dTokenRedirectURIUnchecked: {Name: "token_redirect_uri_unchecked", Checks: []string{"AC6"}, Breaks: []string{"AC6"},
		Does: "the token request's redirect_uri is not compared"},
	dPKCEVerifierOptional: {Name: "pkce_verifier_optional", Checks: []string{"AC7"}, Breaks: []string{"AC7"},
		Does: "a code with a challenge is redeemed without a code_verifier"},
	dPKCEUnchecked: {Name: "pkce_unchecked", Checks: []string{"AC8"}, Breaks: []string{"AC8", "AC10"},
		Does: "any code_verifier is accepted"},
	dPKCEDowngrade: {Name: "pkce_downgrade", Checks: []string{"AC9"}, Breaks: []string{"AC9"},
		Does: "a code_verifier is accepted for a code issued without a challenge"},
	dPKCEPlainAllowed: {Name: "pkce_plain_allowed", Checks: []string{"AC10"}, Breaks: []string{"AC10"},
		Does: "code_challenge_method=plain and verifiers under 43 characters are accepted"},
	dPKCEOptionalPublic: {Name: "pkce_optional_public", Checks: []string{"AC11"}, Breaks: []string{"AC11"},
		Does: "public clients may leave out code_challenge"},
	dUnknownParamRejected: {Name: "unknown_param_rejected", Checks: []string{"AC12"}, Breaks: []string{"AC12"},
		Does: "an unknown authorization parameter gets invalid_request"},
	dDuplicateParamsAllowed: {Name: "duplicate_params_allowed", Checks: []string{"AC13"}, Breaks: []string{"AC13"},
		Does: "repeated authorization parameters are accepted (first wins)"},
	dResponseTypeUnchecked: {Name: "response_type_unchecked", Checks: []string{"AC14"}, Breaks: []string{"AC14"},
		Does: "a missing or unknown response_type is treated as code"},
	dDenyIgnored: {Name: "deny_ignored", Checks: []string{"AC15"}, Breaks: []string{"AC15"},
		Does: "Deny on the consent page issues a code like Approve"},
	dOpenRedirect: {Name: "open_redirect", Checks: []string{"B1"}, Breaks: []string{"B1", "B2", "B4"},
		Does: "an unregistered redirect_uri is redirected to"},
	dRedirectPrefixMatch: {Name: "redirect_prefix_match", Checks: []string{"B2"}, Breaks: []string{"B2"},
		Does: "a redirect_uri matches when it starts with a registered one"},
	dRedirectDefaultFirst: {Name: "redirect_default_first", Checks: []string{"B3"}, Breaks: []string{"B3"},
		Does: "no redirect_uri with several registered uses the first"},
	dErrorToUnregistered: {Name: "error_to_unregistered", Checks: []string{"B4"}, Breaks: []string{"B4"},
		Does: "scope and response_type errors are checked before the redirect_uri and sent to whatever redirect_uri was given"},
	dFrameableLogin: {Name: "frameable_login", Checks: []string{"B5"}, Breaks: []string{"B5"},
		Does: "pages send no X-Frame-Options and no CSP frame-ancestors"},
	dWrongResponseIss: {Name: "wrong_response_iss", Checks: []string{"B6"}, Breaks: []string{"B6"},
		Does: "the iss authorization response parameter names another issuer"},
	dRedirect307: {Name: "redirect_307", Checks: []string{"B7"}, Breaks: []string{"AC1", "AC15", "B7", "D1", "D4"},
		Does: "the login POST answers 307"},
	dCCRefreshToken: {Name: "cc_refresh_token", Checks: []string{"C1"}, Breaks: []string{"C1"},
		Does: "client_credentials responses carry a refresh token"},
	dNoWWWAuthenticate: {Name: "no_www_authenticate", Checks: []string{"C2"}, Breaks: []string{"C2"},
		Does: "401 invalid_client comes without WWW-Authenticate"},
	dClientSecretUnchecked: {Name: "client_secret_unchecked", Checks: []string{"C3"}, Breaks: []string{"C3"},
		Does: "client_secret in the body is not checked"},
	dGrantNotRestricted: {Name: "grant_not_restricted", Checks: []string{"C4"}, Breaks: []string{"C4"},
		Does: "clients may use authorization_code, client_credentials, refresh_token and device grants they are not registered for"},
	dWrongErrorCode: {Name: "wrong_error_code", Checks: []string{"C5", "C9"}, Breaks: []string{"C5", "C9"},
		Does: "an unknown grant_type gets the non-RFC error unknown_grant"},
	dScopeUnchecked: {Name: "scope_unchecked", Checks: []string{"C6"}, Breaks: []string{"C6"},
		Does: "the token endpoint does not check requested scopes"},
	dTokenGetAllowed: {Name: "token_get_allowed", Checks: []string{"C7"}, Breaks: []string{"C7"},
		Does: "the token endpoint takes GET and parameters in the query"},
	dPanicOnBadInput: {Name: "panic_on_bad_input", Checks: []string{"C8"}, Breaks: []string{"C8"},
		Does: "a malformed token request body crashes the handler: the connection drops without a response"},
	dRefreshScopeWidened: {Name: "refresh_scope_widened", Checks: []string{"R1"}, Breaks: []string{"R1"},
		Does: "a refresh may widen the scope to anything the client may ask for"},
	dRefreshNotBound: {Name: "refresh_not_bound", Checks: []string{"R2"}, Breaks: []string{"R2"},
		Does: "any client can use a refresh token"},
	dRefreshNoClientAuth: {Name: "refresh_no_client_auth", Checks: []string{"R3"}, Breaks: []string{"R3"},
		Does: "a confidential client refreshes with only its client_id"},
	dNoRefreshRotation: {Name: "no_refresh_rotation", Checks: []string{"R4"}, Breaks: []string{"R4", "R5"},
		Does: "refresh tokens are not rotated and stay valid after use"},
	dNoReuseDetection: {Name: "no_reuse_detection", Checks: []string{"R4"}, Breaks: []string{"R4"},
		Does: "replaying a rotated refresh token is refused but revokes nothing"},
	dRefreshRace: {Name: "refresh_race", Checks: []string{"R5"}, Breaks: []string{"R5"},
		Does: "a refresh checks and marks the token used in two steps, so parallel refreshes all win"},
	dRefreshNeverExpires: {Name: "refresh_never_expires", Checks: []string{"R6"}, Breaks: []string{"R6"},
		Does: "refresh tokens never expire"},
	dDevicePendingWrong: {Name: "device_pending_wrong", Checks: []string{"D2"}, Breaks: []string{"D2"},
		Does: "polls before the user decides get slow_down instead of authorization_pending"},
	dNoSlowDown: {Name: "no_slow_down", Checks: []string{"D3"}, Breaks: []string{"D3"},
		Does: "polling faster than the interval is not answered with slow_down"},
	dDeviceDenyIgnored: {Name: "device_deny_ignored", Checks: []string{"D4"}, Breaks: []string{"D4"},
		Does: "a denied device request stays pending"},
	dDeviceCodeNeverExpires: {Name: "device_code_never_expires", Checks: []string{"D5"}, Breaks: []string{"D5"},
		Does: "device codes never expire"},
	dDeviceCodeReuse: {Name: "device_code_reuse", Checks: []string{"D6"}, Breaks: []string{"D6"},
		Does: "a device code can be exchanged again after tokens were issued"},
	dPasswordAlwaysOn: {Name: "password_always_on", Checks: []string{"L1"}, Breaks: []string{"L1"},
		Does: "every confidential client may use the password grant"},
	dImplicitAlwaysOn: {Name: "implicit_always_on", Checks: []string{"L2"}, Breaks: []string{"L2"},
		Does: "every client may use response_type=token"},
	dImplicitRefreshToken: {Name: "implicit_refresh_token", Checks: []string{"L3"}, Breaks: []string{"L3"},
		Does: "implicit responses carry a refresh token"},
	dBadSignature: {Name: "bad_signature", Checks: []string{"T1"}, Breaks: []string{"T1", "T2", "T3", "T4", "T5", "T6"},
		Does: "JWT signatures are corrupted"},
	dAlgNone: {Name: "alg_none", Checks: []string{"T1"}, Breaks: []string{"T1", "T2", "T3", "T4", "T5", "T6"},
		Does: "JWTs are unsigned (alg none)"},
	dWrongIss: {Name: "wrong_iss", Checks: []string{"T2"}, Breaks: []string{"T2"},
		Does: "JWTs name another issuer"},
	dWrongAud: {Name: "wrong_aud", Checks: []string{"T2"}, Breaks: []string{"T2"},
		Does: "JWTs name another audience"},
	dExpMismatch: {Name: "exp_mismatch", Checks: []string{"T3"}, Breaks: []string{"T3"},
		Does: "JWT exp is ten times later than expires_in says"},
	dNonceDropped: {Name: "nonce_dropped", Checks: []string{"T4"}, Breaks: []string{"T4"},
		Does: "ID tokens leave out nonce"},
	dBadAtHash: {Name: "bad_at_hash", Checks: []string{"T4"}, Breaks: []string{"T4"},
		Does: "ID token at_hash is the hash of something else"},
	dWrongTyp: {Name: "wrong_typ", Checks: []string{"T5"}, Breaks: []string{"T5"},
		Does: "JWT access tokens have typ JWT, not at+jwt"},
	dRotationDropsOldKey: {Name: "rotation_drops_old_key", Checks: []string{"T6"}, Breaks: []string{"T6"},
		Does: "a key rotation removes the old key from the JWKS at once", ProviderOnly: true},
	dWeakTokens: {Name: "weak_tokens", Checks: []string{"T7"}, Breaks: []string{"T7"},
		Does: "codes, refresh tokens, device codes and opaque tokens carry 32 random bits"},
	dExpiredStillActive: {Name: "expired_still_active", Checks: []string{"E1"}, Breaks: []string{"E1", "I1"},
		Does: "expired access tokens stay active for introspection and userinfo"},
	dRevokeNoop: {Name: "revoke_noop", Checks: []string{"E3"}, Breaks: []string{"E3", "I1", "R6"},
		Does: "revocation answers 200 and revokes nothing"},
	dMetadataIssuerMismatch: {Name: "metadata_issuer_mismatch", Checks: []string{"M1"}, Breaks: []string{"M1"},
		Does: "the discovery documents name the issuer with a trailing slash", ProviderOnly: true},
	dJWKSLeaksPrivate: {Name: "jwks_leaks_private", Checks: []string{"M2"}, Breaks: []string{"M2"},
		Does: "the JWKS holds the private key members", ProviderOnly: true},
	dIntrospectLeaks: {Name: "introspect_leaks", Checks: []string{"I1"}, Breaks: []string{"I1"},
		Does: "inactive tokens are introspected with client_id, scope and exp besides active:false"},
	dIntrospectOpen: {Name: "introspect_open", Checks: []string{"I2"}, Breaks: []string{"I2"},
		Does: "introspection takes unauthenticated callers"},
	dRevokeUnknownError: {Name: "revoke_unknown_error", Checks: []string{"V1"}, Breaks: []string{"V1"},
		Does: "revoking an unknown token gets 400"},
	dRevokeNotBound: {Name: "revoke_not_bound", Checks: []string{"V2"}, Breaks: []string{"V2"},
		Does: "a client can revoke another client's token"},
	dCodeReuseKeepsTokens: {Name: "code_reuse_keeps_tokens", Warns: []string{"AC2"},
		Does: "a reused code is refused, but the tokens of its first redemption stay valid"},
	dRevokeKeepsAccessTokens: {Name: "revoke_keeps_access_tokens", Warns: []string{"E3"},
		Does: "revoking a refresh token leaves the access tokens of its grant active"},
	dScopeChangeUnreported: {Name: "scope_change_unreported", Warns: []string{"C6"},
		Does: "client credentials requests have the scopes the client may not have dropped, and the response leaves out scope though the grant differs from the request"},
	dRotationPruneDropsCurrent: {Name: "rotation_prune_drops_current", Checks: []string{"T6"}, Breaks: []string{"T6"},
		Does: "once a rotated-out key leaves the JWKS, the current key leaves with it", ProviderOnly: true},
	dRotationKeepsOldKey: {Name: "rotation_keeps_old_key", Warns: []string{"T6"},
		Does: "a rotated-out key stays in the JWKS long after every token it signed has expired", ProviderOnly: true},
	dUnadvertisedAlg: {Name: "unadvertised_alg", Checks: []string{"T1"}, Breaks: []string{"T1"},
		Does: "the discovery documents advertise the signing algorithm the provider does not use (ES256 for RS256 tokens)", ProviderOnly: true},
	dAccessTokenAlgNone: {Name: "access_token_alg_none", Checks: []string{"T1", "T2", "T3", "T5"}, Breaks: []string{"T1", "T2", "T3", "T5"},
		Does: "JWT access tokens (not ID tokens) are unsigned (alg none)"},
	dAccessTokenBadSignature: {Name: "access_token_bad_signature", Checks: []string{"T1", "T2", "T3", "T5"}, Breaks: []string{"T1", "T2", "T3", "T5"},
		Does: "JWT access token (not ID token) signatures are corrupted"},
	dGrantNotRestrictedHidden: {Name: "grant_not_restricted_hidden", Checks: []string{"C4", "L1"}, Breaks: []string{"C4", "L1"},
		Does: "confidential clients may use every grant, password included, while a public client asking for client_credentials is turned away as invalid_client"},
	dLargeBodyReset: {Name: "large_body_reset", Checks: []string{"C8"}, Breaks: []string{"C8"},
		Does: "a token request body over limits.max_body_bytes drops the connection without a response"},
	dFamilyAccessTokensSurvive: {Name: "family_access_tokens_survive", Checks: []string{"R4"}, Breaks: []string{"R4"},
		Does: "replaying a rotated refresh token revokes the family's refresh tokens but not its access tokens"},
}

// Defects lists every defect mode, sorted by name.
func Defects() []DefectInfo {
	out := make([]DefectInfo, 0, defectCount)
	for _, d := range defectCatalogue {
		// Copies, and [] rather than null in the admin API's JSON.
		d.Checks = append([]string{}, d.Checks...)
		d.Breaks = append([]string{}, d.Breaks...)
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
		if p.client(clientID) == nil {
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
	return p.defect(p.client(clientID), id)
}
