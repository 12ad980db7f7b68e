// Package mockprovider is grantbench's bundled OAuth 2.0 / OpenID Connect
// authorization server: discovery, JWKS, authorization (login and consent
// pages), token (authorization_code with PKCE, client_credentials,
// refresh_token with rotation and reuse detection, password, device_code),
// device authorization and verification, introspection, revocation,
// userinfo and an admin API. docs/mockprovider.md is its contract.
//
// A Provider keeps all its state in the instance, reads time from an
// injectable Clock, and bounds what it remembers, so tests can run many
// providers side by side and a load test cannot make it grow without end.
// Each protocol rule lives in one place (a grant's function, the redirect
// URI match, the PKCE check, ...), so that a defect switch can later break
// exactly one rule.
package mockprovider
