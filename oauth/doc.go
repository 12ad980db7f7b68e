// Package oauth is the protocol's vocabulary, written once for the whole
// tree: the error codes of the OAuth 2.0 and OpenID Connect specifications
// (each with the section that defines it), the grant type and token type
// names, and the scopes a user can consent to. The mock provider, the flows,
// the suites and the runner all spell these words through this package, the
// way golang.org/x/oauth2's deviceauth.go names RFC 8628's errors.
//
// It imports nothing but the standard library, so any layer may use it.
package oauth
