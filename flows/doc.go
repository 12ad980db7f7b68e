// Package flows is the client side of every OAuth 2.0 / OpenID Connect grant that
// grantbench drives: authorization code with PKCE, client credentials, refresh,
// device authorization, password and implicit. One implementation serves both the
// conformance suites and the load runner.
//
// A flow runs against a [Target] (a provider profile loaded from YAML, see
// [LoadTarget]) and returns a [Result] holding the tokens, the parsed ID-token
// claims, a [trace.Step] per HTTP request and, unless [RecordTrace] asks for less, the raw
// [trace.Exchange]s as evidence. The result is never nil, even when the flow fails, so
// callers always have the trace up to the failure. Errors are typed: [*OAuthError]
// for an RFC 6749 / RFC 8628 error response, [*TransportError] when no response
// arrived, [*ResponseError] when a response arrived but could not be used, and
// [*BrowserError] when a page step in Chromium failed.
//
// The grants are built on golang.org/x/oauth2. Logins and consent happen either in
// headless Chromium ([Browser], driven by chromedp with the target's CSS selectors)
// or, for the bundled mock provider and high-rate load, by posting its forms over
// plain HTTP with a cookie jar ([ConsentHTTP]).
package flows
