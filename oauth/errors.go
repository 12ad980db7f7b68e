package oauth

// ErrorCode is the "error" member of an OAuth 2.0 error response.
type ErrorCode string

// Error codes, by the section that defines them.
const (
	// RFC 6749 4.1.2.1, 4.2.2.1 (authorization) and 5.2 (token endpoint).
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client"
	InvalidGrant            ErrorCode = "invalid_grant"
	UnauthorizedClient      ErrorCode = "unauthorized_client"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	InvalidScope            ErrorCode = "invalid_scope"
	AccessDenied            ErrorCode = "access_denied"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	ServerError             ErrorCode = "server_error"
	TemporarilyUnavailable  ErrorCode = "temporarily_unavailable"

	// RFC 8628 3.5 (device access token response).
	AuthorizationPending ErrorCode = "authorization_pending"
	SlowDown             ErrorCode = "slow_down"
	ExpiredToken         ErrorCode = "expired_token"

	// RFC 6750 3.1 (bearer token use).
	InvalidToken      ErrorCode = "invalid_token"
	InsufficientScope ErrorCode = "insufficient_scope"

	// RFC 7009 2.2.1 (revocation).
	UnsupportedTokenType ErrorCode = "unsupported_token_type"

	// RFC 8707 2 (resource indicators).
	InvalidTarget ErrorCode = "invalid_target"

	// RFC 9449 5, 8, 9 (DPoP).
	InvalidDPoPProof ErrorCode = "invalid_dpop_proof"
	UseDPoPNonce     ErrorCode = "use_dpop_nonce"

	// OIDC Core 3.1.2.6 (authentication error response).
	InteractionRequired      ErrorCode = "interaction_required"
	LoginRequired            ErrorCode = "login_required"
	AccountSelectionRequired ErrorCode = "account_selection_required"
	ConsentRequired          ErrorCode = "consent_required"
	InvalidRequestURI        ErrorCode = "invalid_request_uri"
	InvalidRequestObject     ErrorCode = "invalid_request_object"
	RequestNotSupported      ErrorCode = "request_not_supported"
	RequestURINotSupported   ErrorCode = "request_uri_not_supported"
	RegistrationNotSupported ErrorCode = "registration_not_supported"
)

// ErrorCodes are every code above, in the order they are declared. Anything
// else a server sends is not a registered code.
var ErrorCodes = []ErrorCode{
	InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
	UnsupportedGrantType, InvalidScope, AccessDenied, UnsupportedResponseType,
	ServerError, TemporarilyUnavailable,
	AuthorizationPending, SlowDown, ExpiredToken,
	InvalidToken, InsufficientScope,
	UnsupportedTokenType,
	InvalidTarget,
	InvalidDPoPProof, UseDPoPNonce,
	InteractionRequired, LoginRequired, AccountSelectionRequired, ConsentRequired,
	InvalidRequestURI, InvalidRequestObject, RequestNotSupported,
	RequestURINotSupported, RegistrationNotSupported,
}

// TokenErrorCodes are the codes a token endpoint may answer: RFC 6749 5.2,
// with the device grant's of RFC 8628 3.5 and invalid_target of RFC 8707.
var TokenErrorCodes = []ErrorCode{
	InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
	UnsupportedGrantType, InvalidScope, AuthorizationPending, SlowDown,
	AccessDenied, ExpiredToken, InvalidTarget,
}

// registered indexes ErrorCodes: the runner asks Registered for every
// error response it labels, so a lookup, not a scan.
var registered = func() map[ErrorCode]bool {
	m := make(map[ErrorCode]bool, len(ErrorCodes))
	for _, c := range ErrorCodes {
		m[c] = true
	}
	return m
}()

// Registered reports whether code is one of ErrorCodes.
func Registered(code string) bool {
	return registered[ErrorCode(code)]
}

// String returns the code as it goes on the wire.
func (c ErrorCode) String() string { return string(c) }
