package mockprovider

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"

	"github.com/grantbench/grantbench/oauth"
)

// checkPKCE verifies the code_verifier against the code's challenge
// (RFC 7636 4.6), and refuses a verifier for a code issued without one
// (RFC 9700 2.1.1: a downgrade attempt).
func (p *Provider) checkPKCE(client *Client, rec *codeRecord, form url.Values) *oauthError {
	verifier, hasVerifier := form["code_verifier"]
	if rec.challenge == "" {
		if hasVerifier && !p.defect(client, dPKCEDowngrade) {
			return invalidGrant("code_verifier sent but the authorization request had no code_challenge")
		}
		return nil
	}
	if !hasVerifier {
		if p.defect(client, dPKCEVerifierOptional) {
			return nil
		}
		return invalidGrant("code_verifier is required")
	}
	if p.defect(client, dPKCEUnchecked) {
		return nil
	}
	if rec.challengeMethod == oauth.PKCEPlain { // only under the pkce_plain_allowed defect
		if !secretEqual(rec.challenge, verifier[0]) {
			return invalidGrant("code_verifier does not match the code_challenge")
		}
		return nil
	}
	validLength := validVerifier(verifier[0]) || p.defect(client, dPKCEPlainAllowed)
	if !validLength || !s256Matches(verifier[0], rec.challenge) {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

// validVerifier checks RFC 7636 4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// validChallenge: an S256 challenge is a base64url SHA-256, 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}
