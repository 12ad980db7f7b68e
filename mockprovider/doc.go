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
//
// The files are laid out by grant and RFC, the way zitadel/oidc's pkg/op
// and fosite's handlers are; a new grant or endpoint gets its own file.
//
// The token endpoint (RFC 6749 3.2) and its grants:
//   - token.go: the endpoint: reads the request, authenticates the client,
//     dispatches on grant_type; the race window of the *_race defects.
//   - token_code.go: authorization_code (RFC 6749 4.1.3), one redemption
//     per code.
//   - token_refresh.go: refresh_token, with refresh token rotation and
//     reuse detection (RFC 6749 6, RFC 9700 4.14.2).
//   - token_clientcredentials.go: client_credentials (RFC 6749 4.4).
//   - token_password.go: password (RFC 6749 4.3) and the password check the
//     login page shares.
//   - token_device.go: device polling, the device_code grant (RFC 8628 3.4,
//     3.5: authorization_pending, slow_down).
//   - pkce.go: the PKCE check, all of RFC 7636 (challenge and verifier
//     syntax, S256) in one place.
//   - clientauth.go: client authentication shared by every endpoint that
//     takes one (RFC 6749 2.3), and which grants a client may use.
//   - mint.go: minting tokens: access tokens (RFC 9068 JWT or opaque), refresh
//     tokens, ID tokens (OIDC Core 2) and the token response.
//
// The other endpoints:
//   - authorize.go: the authorization endpoint (RFC 6749 3.1, 4.1.1, 4.2.1),
//     its parameters, the redirect URI match and the redirect back.
//   - login.go, consent.go: the login and consent pages; consent.go also
//     sends the authorization response (code or implicit token).
//   - session.go: the login session cookie and the interactions (a login
//     or consent in progress).
//   - device.go: device authorization and the verification page (RFC 8628
//     3.1-3.3).
//   - introspect.go: introspection (RFC 7662) and the token lookup it shares
//     with revocation and userinfo.
//   - revoke.go: revocation (RFC 7009).
//   - userinfo.go: userinfo (OIDC Core 5.3) and bearer errors (RFC 6750 3).
//   - discovery.go, keys.go: discovery (OIDC Discovery, RFC 8414) and JWKS.
//   - admin.go, metrics.go, counters.go: the admin API, Prometheus metrics
//     and the counters behind both.
//
// Shared parts: errors.go (error responses; the codes are package oauth's),
// form.go (reading request bodies), scopes.go (scope parsing and sets),
// store.go (bounded state), defects.go (the defect switches), faults.go
// (injected latency and errors), rp.go and rpobserve.go (the stimuli and
// observations of `grantbench rp`: bad responses to one client application
// and what it sent), config.go, provider.go, server.go, pages.go,
// jsonw.go, clock.go. local.go starts the bundled mock in-process
// (StartBundled).
package mockprovider
