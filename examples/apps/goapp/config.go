// Package goapp is grantbench's example OpenID Connect client application: a
// web app that logs its users in with the authorization code flow on
// golang.org/x/oauth2 and github.com/coreos/go-oidc/v3, and validates
// everything a relying party should (state, nonce, PKCE S256, the ID token's
// signature and claims, the RFC 9207 iss response parameter, userinfo sub, the
// token response's shape). Bug switches (env BUGS) each turn off exactly one
// of those validations, so that `grantbench rp` can prove every P check of
// CHECKS.md can fail. `grantbench example-app` runs it from the environment.
package goapp

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bug is the name of one bug switch: a validation the app leaves out (or, for
// require_kid, adds wrongly) on purpose.
type Bug string

// The bug switches, one per `bug` of CHECKS.md's P rows.
const (
	BugSkipIss                 Bug = "skip_iss"                   // P1: the ID token's iss is not compared
	BugSkipAud                 Bug = "skip_aud"                   // P2: the ID token's aud is not compared
	BugSkipSignature           Bug = "skip_signature"             // P3: the ID token's signature is not verified
	BugAcceptAlgNone           Bug = "accept_alg_none"            // P4: an unsigned (alg none) ID token is accepted
	BugAcceptAnyAlg            Bug = "accept_any_alg"             // P5: any alg is accepted, HS* verified with the client secret
	BugSkipExp                 Bug = "skip_exp"                   // P6: the ID token's exp is not checked
	BugSkipIat                 Bug = "skip_iat"                   // P7: the ID token's iat is not checked
	BugSkipNonce               Bug = "skip_nonce"                 // P8: the ID token's nonce is not compared
	BugSkipSub                 Bug = "skip_sub"                   // P9: an ID token without sub is accepted
	BugRequireKid              Bug = "require_kid"                // P10: an ID token without kid is refused
	BugCacheJWKSForever        Bug = "cache_jwks_forever"         // P11: the JWKS is fetched once, never again
	BugSkipUserinfoSub         Bug = "skip_userinfo_sub"          // P12: userinfo's sub is not compared
	BugSkipState               Bug = "skip_state"                 // P13: the callback's state is not compared
	BugSkipResponseIss         Bug = "skip_response_iss"          // P14: the authorization response's iss is not compared
	BugNoPKCE                  Bug = "no_pkce"                    // P15: no PKCE is sent
	BugFixedState              Bug = "fixed_state"                // P15: every login sends the same state
	BugReplayableCallback      Bug = "replayable_callback"        // P16: a replayed callback logs in again
	BugCrashOnTokenError       Bug = "crash_on_token_error"       // P17: a failed token request answers 500
	BugSkipTokenResponseChecks Bug = "skip_token_response_checks" // P18: token_type and id_token are not required
	BugWeakCookie              Bug = "weak_cookie"                // P19: the session cookie lacks HttpOnly and SameSite
)

// BugInfo describes one bug switch.
type BugInfo struct {
	Name   Bug    `json:"name"`
	Check  string `json:"check"` // the P check of CHECKS.md it makes fail
	Effect string `json:"effect"`
}

var bugCatalogue = []BugInfo{
	{BugSkipIss, "P1", "the ID token's iss is not compared with the issuer"},
	{BugSkipAud, "P2", "the ID token's aud is not required to hold the client id"},
	{BugSkipSignature, "P3", "the ID token's signature is not verified (the alg is still checked)"},
	{BugAcceptAlgNone, "P4", "an unsigned ID token (alg none) is accepted"},
	{BugAcceptAnyAlg, "P5", "an alg the provider does not advertise is accepted; HS* is verified with the client secret"},
	{BugSkipExp, "P6", "the ID token's exp (and nbf) is not checked"},
	{BugSkipIat, "P7", "the ID token's iat may be missing or in the future"},
	{BugSkipNonce, "P8", "the ID token's nonce is not compared with the one sent"},
	{BugSkipSub, "P9", "an ID token without sub is accepted (the user is then taken from userinfo)"},
	{BugRequireKid, "P10", "an ID token without kid is refused, though the JWKS has a single key"},
	{BugCacheJWKSForever, "P11", "the JWKS is fetched once and never again, so a rotated key is unknown"},
	{BugSkipUserinfoSub, "P12", "userinfo's sub is not compared with the ID token's"},
	{BugSkipState, "P13", "the callback's state is not compared with the one sent"},
	{BugSkipResponseIss, "P14", "the authorization response's iss parameter (RFC 9207) is not compared"},
	{BugNoPKCE, "P15", "no code_challenge / code_verifier is sent"},
	{BugFixedState, "P15", "every login sends the same state"},
	{BugReplayableCallback, "P16", "a callback's code is remembered; a replayed one logs in again without the provider"},
	{BugCrashOnTokenError, "P17", "a failed token request answers 500"},
	{BugSkipTokenResponseChecks, "P18", "token_type Bearer and id_token are not required in the token response"},
	{BugWeakCookie, "P19", "the session cookie is set without HttpOnly and SameSite"},
}

// Bugs lists every bug switch, in check order.
func Bugs() []BugInfo { return slices.Clone(bugCatalogue) }

// BugSet is a set of bug switches that are on.
type BugSet map[Bug]bool

// Has reports whether b is on.
func (s BugSet) Has(b Bug) bool { return s[b] }

// String lists the switches that are on, comma-separated in catalogue order.
func (s BugSet) String() string {
	var on []string
	for _, info := range bugCatalogue {
		if s[info.Name] {
			on = append(on, string(info.Name))
		}
	}
	return strings.Join(on, ",")
}

// ParseBugs reads a comma-separated list of bug names (spaces allowed, empty
// items ignored). An unknown name is an error naming it and the known ones.
func ParseBugs(list string) (BugSet, error) {
	set := BugSet{}
	for item := range strings.SplitSeq(list, ",") {
		name := Bug(strings.TrimSpace(item))
		if name == "" {
			continue
		}
		if !slices.ContainsFunc(bugCatalogue, func(b BugInfo) bool { return b.Name == name }) {
			known := make([]string, len(bugCatalogue))
			for i, b := range bugCatalogue {
				known[i] = string(b.Name)
			}
			return nil, fmt.Errorf("goapp: BUGS: unknown bug %q (known: %s)", name, strings.Join(known, ", "))
		}
		set[name] = true
	}
	return set, nil
}

// Token endpoint client authentication methods the app supports.
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"
)

// DefaultTokenTimeout bounds the token request: a stalled token endpoint gets
// an error page after it, never a hung browser.
const DefaultTokenTimeout = 5 * time.Second

// Config is what the app needs to know.
type Config struct {
	Issuer       string // the provider's issuer; discovery at Issuer + /.well-known/openid-configuration
	ClientID     string
	ClientSecret string // empty for a public client
	AuthMethod   string // client_secret_basic (default with a secret), client_secret_post, none (default without)
	RedirectURI  string // absolute; the app serves its path's callback at /callback
	Port         int    // where `grantbench example-app` listens on 127.0.0.1 (unused by New)
	Bugs         BugSet

	// TokenTimeout bounds the token request (DefaultTokenTimeout when zero).
	TokenTimeout time.Duration
	// HTTPClient makes the app's requests to the provider (a 10 s client when nil).
	HTTPClient *http.Client
	// Logger receives the app's log (discarded when nil). It never sees tokens or codes.
	Logger *slog.Logger
}

// ConfigFromEnv reads the Config from environment variables ISSUER, CLIENT_ID,
// CLIENT_SECRET, AUTH_METHOD, REDIRECT_URI, PORT and BUGS, through getenv
// (os.Getenv in production). Errors name the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Issuer:       strings.TrimSpace(getenv("ISSUER")),
		ClientID:     strings.TrimSpace(getenv("CLIENT_ID")),
		ClientSecret: getenv("CLIENT_SECRET"),
		AuthMethod:   strings.TrimSpace(getenv("AUTH_METHOD")),
		RedirectURI:  strings.TrimSpace(getenv("REDIRECT_URI")),
	}
	port := strings.TrimSpace(getenv("PORT"))
	if port == "" {
		return Config{}, fmt.Errorf("goapp: PORT is not set (the port to listen on, 1-65535)")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return Config{}, fmt.Errorf("goapp: PORT %q is not a port number (1-65535)", port)
	}
	cfg.Port = n
	if cfg.Bugs, err = ParseBugs(getenv("BUGS")); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the Config and fills in defaults (AuthMethod). Errors name
// the environment variable the field comes from.
func (c *Config) Validate() error {
	if c.Issuer == "" {
		return fmt.Errorf("goapp: ISSUER is not set (the provider's issuer URL)")
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("goapp: ISSUER %q is not an absolute http(s) URL", c.Issuer)
	}
	if c.ClientID == "" {
		return fmt.Errorf("goapp: CLIENT_ID is not set")
	}
	if c.RedirectURI == "" {
		return fmt.Errorf("goapp: REDIRECT_URI is not set (the app's callback URL, ending in /callback)")
	}
	u, err := url.Parse(c.RedirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("goapp: REDIRECT_URI %q is not an absolute http(s) URL", c.RedirectURI)
	}
	if u.Path != "/callback" {
		return fmt.Errorf("goapp: REDIRECT_URI %q must have the path /callback (the app's callback route)", c.RedirectURI)
	}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = AuthClientSecretBasic
		if c.ClientSecret == "" {
			c.AuthMethod = AuthNone
		}
	case AuthClientSecretBasic, AuthClientSecretPost:
		if c.ClientSecret == "" {
			return fmt.Errorf("goapp: AUTH_METHOD %s needs CLIENT_SECRET", c.AuthMethod)
		}
	case AuthNone:
	default:
		return fmt.Errorf("goapp: AUTH_METHOD %q is not one of %s, %s, %s", c.AuthMethod, AuthClientSecretBasic, AuthClientSecretPost, AuthNone)
	}
	if c.TokenTimeout < 0 {
		return fmt.Errorf("goapp: token timeout %v is negative", c.TokenTimeout)
	}
	return nil
}
