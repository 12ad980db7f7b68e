package oauth

// GrantType is a token request's grant_type.
type GrantType string

// Grant types: RFC 6749 4.1.3, 4.3.2, 4.4.2, 6; RFC 8628 3.4; RFC 8693 2.1;
// RFC 7523 2.1.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantPassword          GrantType = "password"
	GrantClientCredentials GrantType = "client_credentials"
	GrantRefreshToken      GrantType = "refresh_token"
	GrantDeviceCode        GrantType = "urn:ietf:params:oauth:grant-type:device_code"
	GrantTokenExchange     GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer         GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// Token types of a token response's token_type (RFC 6750 4, RFC 9449 5).
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// Token type identifiers of token exchange (RFC 8693 3): subject_token_type,
// actor_token_type, requested_token_type and issued_token_type.
const (
	TokenTypeURNAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeURNRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeURNIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeURNJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// Token type hints of RFC 7009 2.1 and RFC 7662 2.1.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Response types of RFC 6749 3.1.1 and OIDC Core 3.
const (
	ResponseTypeCode  = "code"
	ResponseTypeToken = "token"
)

// PKCE code challenge methods (RFC 7636 4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// Scopes of OIDC Core 5.4 and 11.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeAddress       = "address"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
)

// UserScopes are the scopes a user consents to, as opposed to a client's API
// scopes: a grant with no user (client_credentials) must not carry them.
func UserScopes() []string {
	return []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeAddress, ScopePhone, ScopeOfflineAccess}
}

// IsUserScope reports whether scope is one of UserScopes.
func IsUserScope(scope string) bool {
	switch scope {
	case ScopeOpenID, ScopeProfile, ScopeEmail, ScopeAddress, ScopePhone, ScopeOfflineAccess:
		return true
	}
	return false
}
