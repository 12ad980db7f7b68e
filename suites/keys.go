package suites

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/oauth"
)

// minSecretBits is what a guessable bearer value must at least carry: RFC 6749
// 10.10 asks for values an attacker cannot guess, which RFC 6819 5.1.4.2.2 and
// OAuch put at 128 bits.
const minSecretBits = 128

// defaultAccessTokenBound is T7's bound on access token lifetimes when the
// profile states none (lifetimes.access_token): a bearer access token that
// lives longer than a day outlasts any reason to keep it short-lived (RFC 9700
// 2.2.2, 4.14 rely on short lifetimes instead of revocation), while a profile
// can state a provider's longer lifetime and have it judged on that.
const defaultAccessTokenBound = 24 * time.Hour

// entropySamples is how many values of each kind T7 looks at: with five, a
// truly random character coincides across all of them (and is wrongly taken
// for a fixed one) once in 64^4 for base64url.
const entropySamples = 5

// alphabets are the character sets bearer values are usually drawn from,
// smallest first: a value is credited log2(size) bits per character of the
// smallest one that holds every character seen in its kind's samples.
var alphabets = []struct {
	name  string
	chars string
}{
	{"decimal digits", "0123456789"},
	{"lowercase hex", "0123456789abcdef"},
	{"uppercase hex", "0123456789ABCDEF"},
	{"lowercase alphanumerics", "0123456789abcdefghijklmnopqrstuvwxyz"},
	{"uppercase alphanumerics", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	{"alphanumerics", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	{"base64url", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"},
	{"base64", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/="},
	{"base64 and base64url", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+/=."},
}

// EntropyEstimate is an upper bound of the randomness in a kind of bearer
// value, judged from samples alone.
type EntropyEstimate struct {
	// Alphabet names the smallest usual character set holding every character
	// that varies between the samples.
	Alphabet string
	// Size is its number of characters (95 for printable ASCII and beyond).
	Size int
	// Bits is the smallest estimate over the samples: the characters that
	// vary between samples times log2(Size).
	Bits float64
	// Repeated is true when two samples are equal.
	Repeated bool
}

// EstimateEntropy estimates the bits of randomness of a kind of bearer value
// from several samples. Characters that every sample shares carry none: with
// samples of one length, those at the same position (the dashes and version
// digit of a UUID, a fixed prefix); otherwise a common prefix and suffix. The
// rest is credited log2 of the smallest usual alphabet holding the varying
// characters. It is an upper bound: structure inside the varying part (a
// counter, a timestamp) is not detected.
func EstimateEntropy(samples []string) EntropyEstimate {
	est := EntropyEstimate{Alphabet: "printable characters", Size: 95}
	if len(samples) == 0 {
		return est
	}
	varying := varyingRunes(samples)
	var seen strings.Builder
	for i, s := range samples {
		seen.WriteString(string(varying[i]))
		if slices.Contains(samples[i+1:], s) {
			est.Repeated = true
		}
	}
	all := seen.String()
	for _, a := range alphabets {
		if !strings.ContainsFunc(all, func(r rune) bool { return !strings.ContainsRune(a.chars, r) }) {
			est.Alphabet, est.Size = a.name, len(a.chars)
			break
		}
	}
	perChar := math.Log2(float64(est.Size))
	est.Bits = math.Inf(1)
	for _, v := range varying {
		est.Bits = min(est.Bits, float64(len(v))*perChar)
	}
	return est
}

// varyingRunes returns, for each sample, its characters that not every sample
// shares. One sample shows nothing fixed, so it is kept whole.
func varyingRunes(samples []string) [][]rune {
	runes := make([][]rune, len(samples))
	sameLength := true
	for i, s := range samples {
		runes[i] = []rune(s)
		sameLength = sameLength && len(runes[i]) == len(runes[0])
	}
	if len(samples) < 2 {
		return runes
	}
	out := make([][]rune, len(samples))
	if sameLength {
		for pos := range runes[0] {
			if allEqual(runes, func(r []rune) rune { return r[pos] }) {
				continue
			}
			for i := range runes {
				out[i] = append(out[i], runes[i][pos])
			}
		}
		return out
	}
	shortest := math.MaxInt
	for _, r := range runes {
		shortest = min(shortest, len(r))
	}
	prefix, suffix := 0, 0
	for prefix < shortest && allEqual(runes, func(r []rune) rune { return r[prefix] }) {
		prefix++
	}
	for suffix < shortest-prefix && allEqual(runes, func(r []rune) rune { return r[len(r)-1-suffix] }) {
		suffix++
	}
	for i, r := range runes {
		out[i] = r[prefix : len(r)-suffix]
	}
	return out
}

// allEqual reports whether at gives the same rune for every sample.
func allEqual(runes [][]rune, at func([]rune) rune) bool {
	for _, r := range runes[1:] {
		if at(r) != at(runes[0]) {
			return false
		}
	}
	return true
}

// isJWT reports whether a token looks like a compact JWS: its randomness is in
// the signature and claims, not in an alphabet estimate.
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// oldKeyTokensLeft is how long the tokens issued before a rotation may still
// be valid at it.now: until the later of the ID token's exp and the access
// token's expires_in.
func oldKeyTokensLeft(it issuedTokens, id *VerifiedJWT) time.Duration {
	left := time.Duration(0)
	if exp, err := id.Claims.Time("exp"); err == nil {
		left = exp.Sub(it.now)
	}
	if it.tr.HasExpiresIn {
		left = max(left, it.tr.ExpiresIn)
	}
	return left
}

func (e *env) declareKeys() {
	// T6 rotates the provider's signing keys and moves its clock past the old
	// key's tokens: provider-wide state that every later token check sees. It
	// runs after every other container (the lowest SpecPriority; Ginkgo
	// shuffles top-level containers by seed), so that a provider whose
	// rotation goes wrong fails T6, not whichever checks the seed put after
	// it: the mutation matrix's sets must not depend on the order.
	Describe("token validation: key rotation", Label("token"), SpecPriority(-1), func() {
		It("T6: after a key rotation the new key is published before it signs, and the old stays while its tokens live", check("T6", "oidf"), func(ctx SpecContext) {
			e.need(e.target.Features.KeyRotation, "key_rotation")
			before := e.issue(ctx)
			old := e.idToken(ctx, before)

			rotation, err := e.admin().RotateKeys(ctx)
			Expect(err).NotTo(HaveOccurred(), "rotate the signing keys through the admin API")

			By("the JWK set right after the rotation, before any token is signed with the new key")
			published := e.jwks(ctx)
			if rotation.KID != "" {
				Expect(published.Key(rotation.KID)).NotTo(BeEmpty(), "the new key %q is in jwks_uri before it is used", rotation.KID)
			}
			Expect(published.Key(old.Kid)).NotTo(BeEmpty(), "the old key %q stays in jwks_uri while the tokens it signed are valid", old.Kid)
			_, err = VerifyJWT(before.tr.IDToken, published, AsymmetricAlgs)
			Expect(err).NotTo(HaveOccurred(), "an ID token issued before the rotation still verifies against jwks_uri")

			By("a token issued after the rotation")
			after := e.issue(ctx)
			fresh, err := VerifyJWT(after.tr.IDToken, published, AsymmetricAlgs)
			Expect(err).NotTo(HaveOccurred(), "an ID token issued after the rotation verifies with the JWK set published before it was issued")
			if rotation.KID != "" {
				Expect(fresh.Kid).To(Equal(rotation.KID), "tokens are signed with the new key after the rotation")
			}
			Expect(e.jwks(ctx).Key(old.Kid)).NotTo(BeEmpty(), "the old key %q is still published after new tokens were issued", old.Kid)

			By("once every token the old key signed has expired")
			e.passTime(ctx, oldKeyTokensLeft(before, old), "the tokens signed with the old key")
			late := e.jwks(ctx)
			later := e.issue(ctx)
			_, err = VerifyJWT(later.tr.IDToken, late, AsymmetricAlgs)
			Expect(err).NotTo(HaveOccurred(), "an ID token issued after the old key's tokens expired verifies against jwks_uri")
			if len(late.Key(old.Kid)) > 0 {
				e.warn("the old key %q is still published after every token it signed has expired; a retired key SHOULD leave jwks_uri once its tokens are gone (oidcc-server-rotate-keys)", old.Kid)
			}
		})
	})

	Describe("token validation: entropy and lifetime", Label("token"), func() {
		It("T7: codes, refresh tokens, device codes and opaque access tokens carry at least 128 bits, and the access token lifetime is within the profile's bound", check("T7", "rfc6749", "oauch"), func(ctx SpecContext) {
			samples := map[string][]string{}
			scopes := []string{oauth.ScopeOpenID, oauth.ScopeOfflineAccess}
			var lifetimes []time.Duration
			for range entropySamples {
				auth, tr := e.codeTokens(ctx, flows.RoleConfidential, authOptions{scopes: scopes})
				samples["authorization code"] = append(samples["authorization code"], auth.Code())
				if tr.RefreshToken != "" {
					samples["refresh token"] = append(samples["refresh token"], tr.RefreshToken)
				}
				if !isJWT(tr.AccessToken) {
					samples["opaque access token"] = append(samples["opaque access token"], tr.AccessToken)
				}
				if tr.HasExpiresIn {
					lifetimes = append(lifetimes, tr.ExpiresIn)
				}
			}
			if e.target.Features.Device && e.metadata().DeviceAuthorizationEndpoint != "" {
				device := e.client(flows.RoleDevice)
				for range entropySamples {
					samples["device code"] = append(samples["device code"], e.startDevice(ctx, device).DeviceCode)
				}
			}

			kinds := make([]string, 0, len(samples))
			for kind := range samples {
				kinds = append(kinds, kind)
			}
			slices.Sort(kinds)
			// Every kind is judged before the verdict, so a failure names all
			// the weak kinds, not only the first.
			var weak []string
			for _, kind := range kinds {
				est := EstimateEntropy(samples[kind])
				AddReportEntry(kind+" entropy", fmt.Sprintf("%.0f bits (%d samples, %s)", est.Bits, len(samples[kind]), est.Alphabet), ReportEntryVisibilityFailureOrVerbose)
				switch {
				case est.Repeated:
					weak = append(weak, fmt.Sprintf("%s: two of %d samples are equal", kind, len(samples[kind])))
				case est.Bits < minSecretBits:
					weak = append(weak, fmt.Sprintf("%s: at most %.0f bits (length and alphabet: %s)", kind, est.Bits, est.Alphabet))
				}
			}
			Expect(weak).To(BeEmpty(), "bearer values an attacker could guess; want at least %d bits each (RFC 6749 10.10)", minSecretBits)

			bound, from := e.target.Lifetimes.AccessToken, "the profile's lifetimes.access_token"
			if bound == 0 {
				bound, from = defaultAccessTokenBound, "the default bound (no lifetimes.access_token in the profile)"
			}
			Expect(lifetimes).NotTo(BeEmpty(), "the token responses carry expires_in to compare with %s", from)
			for _, l := range lifetimes {
				Expect(l).To(BeNumerically(">", 0), "expires_in of the access token")
				Expect(l).To(BeNumerically("<=", bound), "access token expires_in %s exceeds %s, %s", l, from, bound)
			}
		})
	})
}
