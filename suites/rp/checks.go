package rp

import (
	"fmt"
	"math"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
)

// Stimuli at the mock (the contract's names).
const (
	sOtherIss         mockprovider.RPStimulus = "id_token_other_iss"
	sOtherAud         mockprovider.RPStimulus = "id_token_other_aud"
	sNoAud            mockprovider.RPStimulus = "id_token_no_aud"
	sBadSignature     mockprovider.RPStimulus = "id_token_bad_signature"
	sAlgNone          mockprovider.RPStimulus = "id_token_alg_none"
	sHS256Secret      mockprovider.RPStimulus = "id_token_hs256_client_secret"
	sExpired          mockprovider.RPStimulus = "id_token_expired"
	sNoIat            mockprovider.RPStimulus = "id_token_no_iat"
	sIatFuture        mockprovider.RPStimulus = "id_token_iat_future"
	sOtherNonce       mockprovider.RPStimulus = "id_token_other_nonce"
	sNoNonce          mockprovider.RPStimulus = "id_token_no_nonce"
	sNoSub            mockprovider.RPStimulus = "id_token_no_sub"
	sSingleKeyNoKid   mockprovider.RPStimulus = "jwks_single_key_no_kid"
	sRotateKey        mockprovider.RPStimulus = "rotate_key_before_signing"
	sUserinfoOtherSub mockprovider.RPStimulus = "userinfo_other_sub"
	sStateDropped     mockprovider.RPStimulus = "state_dropped"
	sResponseIssOther mockprovider.RPStimulus = "response_iss_other"
	sCodeReusable     mockprovider.RPStimulus = "code_reusable"
	sInvalidGrant     mockprovider.RPStimulus = "token_invalid_grant"
	sToken503         mockprovider.RPStimulus = "token_503"
	sTokenReset       mockprovider.RPStimulus = "token_reset"
	sTokenStall       mockprovider.RPStimulus = "token_stall"
	sNoIDToken        mockprovider.RPStimulus = "token_no_id_token"
	sNotBearer        mockprovider.RPStimulus = "token_type_not_bearer"
)

// refusal is one stimulus a check expects the app to refuse.
type refusal struct {
	stimulus mockprovider.RPStimulus
	sent     string // what the mock sent, for the message
}

func (e *env) declareChecks() {
	It("P0: a normal login logs the user in", check("P0"), func(ctx SpecContext) {
		l := e.loginWith(ctx, "a normal login")
		if !l.loggedIn {
			e.stopReason = "P0 failed: a normal login through the mock did not log the user in, so no other verdict would mean anything"
			e.mustLogIn(l, "a normal authorization code flow (valid ID token, access token, userinfo)",
				"log the user in; check the profile's login and logged_in fields and the app's log (the app must reach the mock at "+e.metadata.Issuer+")")
		}
	})

	e.refuseCheck("P1", "an ID token whose iss is another issuer", "refuse an ID token whose iss is not the provider's issuer (OIDC Core 3.1.3.7(2))",
		refusal{sOtherIss, "an ID token (correctly signed) whose iss names another issuer"})
	e.refuseCheck("P2", "an ID token whose aud lacks the client", "refuse an ID token whose aud does not contain its client_id (OIDC Core 3.1.3.7(3))",
		refusal{sOtherAud, "an ID token whose aud is another client's id"},
		refusal{sNoAud, "an ID token without aud"})
	e.signatureCheck("P3", "an ID token with an invalid signature", refusal{sBadSignature, "an ID token whose signature bytes are corrupted"})
	e.refuseCheck("P4", "an unsigned ID token (alg none)", "refuse an ID token with alg none: verify the signature against the provider's JWKS with the algorithms it advertises",
		refusal{sAlgNone, "an ID token with header alg none and an empty signature"})
	e.signatureCheck("P5", "an ID token signed HS256 with the client secret", refusal{sHS256Secret, "an ID token signed HS256 with the client secret while the metadata advertises only asymmetric algorithms"})
	e.refuseCheck("P6", "an expired ID token", "refuse an ID token whose exp is in the past (OIDC Core 3.1.3.7(9))",
		refusal{sExpired, "an ID token whose exp is in the past"})
	e.refuseCheck("P7", "an ID token without iat or with iat in the future", "refuse an ID token without iat or with iat far in the future (OIDC Core 3.1.3.7(10))",
		refusal{sNoIat, "an ID token without iat"},
		refusal{sIatFuture, "an ID token whose iat is one day ahead"})

	It("P8: an ID token whose nonce differs or is missing is refused", check("P8"), func(ctx SpecContext) {
		for _, r := range []refusal{{sOtherNonce, "an ID token whose nonce differs from the one the app sent"}, {sNoNonce, "an ID token without nonce"}} {
			l := e.loginWith(ctx, r.sent, r.stimulus)
			if len(l.obs.AuthorizationRequests) > 0 && l.obs.AuthorizationRequests[0].Nonce == "" {
				Skip("the app sent no nonce in its authorization request, so there is none to compare (P15 judges what the app sends)")
			}
			e.mustRefuse(l, r.sent, "compare the ID token's nonce with the one it sent and refuse a mismatch or a missing nonce (OIDC Core 3.1.3.7(11))")
		}
	})
	e.refuseCheck("P9", "an ID token without sub", "refuse an ID token without sub: it identifies no user",
		refusal{sNoSub, "an ID token without sub"})

	It("P10: a JWKS with one key and no kid, and an ID token without kid, logs in", check("P10"), func(ctx SpecContext) {
		l := e.loginWith(ctx, "a JWKS with one key without kid", sSingleKeyNoKid)
		e.mustLogIn(l, "a JWKS holding a single key without kid, and an ID token without kid in its header",
			"use the JWKS's only key when the token names no kid (OpenID RP test oidcc-client-test-kid-absent-single-jwks)")
	})
	It("P12: a userinfo sub that differs from the ID token's is refused", check("P12"), func(ctx SpecContext) {
		l := e.loginWith(ctx, "userinfo with another sub", sUserinfoOtherSub)
		if l.obs.UserinfoCalls == 0 {
			Skip("the app never called the userinfo endpoint, so there is no userinfo sub to compare")
		}
		e.mustRefuse(l, "a userinfo response whose sub differs from the ID token's", "compare the userinfo sub with the ID token's and refuse a mismatch (OIDC Core 5.3.2)")
	})

	It("P13: login CSRF (a code issued to another session, or the state dropped) is refused", check("P13"), func(ctx SpecContext) {
		// (a) The attacker logs in over plain HTTP and keeps the callback URL.
		jar, _ := cookiejar.New(nil)
		attacker := &http.Client{Jar: jar, Timeout: loginTimeout}
		e.mock.ResetRPObservations(e.clientID)
		provider := flows.MockTarget(e.metadata.Issuer, "")
		provider.RegisterSecretsWith(e.redactor)
		callback, err := flows.HTTPLoginToCallback(ctx, provider, attacker, e.rendered.BaseURL+e.profile.Login, e.rendered.RedirectURI)
		Expect(err).NotTo(HaveOccurred(), "the attacker's login (plain HTTP through the app's %s and the mock's pages)", e.profile.Login)
		attackerObs := e.mock.RPObservations(e.clientID)

		victim := &login{what: "the victim opens a callback URL issued to the attacker's session"}
		e.logins = append(e.logins, victim)
		e.mock.ResetRPObservations(e.clientID)
		tab := e.freshTab(ctx)
		victim.tab = tab
		// The victim's browser starts a login of its own (the app sets its
		// state and verifier), then loads the attacker's callback.
		_, err = tab.Open(ctx, e.rendered.BaseURL+e.profile.Login, loginTimeout)
		Expect(err).NotTo(HaveOccurred(), "start the victim's login at %s", e.profile.Login)
		victim.end, victim.err = tab.Open(ctx, callback.String(), loginTimeout)
		victim.obs = e.mock.RPObservations(e.clientID)
		victim.obs.AuthorizationRequests = append(attackerObs.AuthorizationRequests, victim.obs.AuthorizationRequests...)
		victim.obs.Callbacks = append(attackerObs.Callbacks, victim.obs.Callbacks...)
		if victim.err == nil {
			e.judge(ctx, victim)
		}
		e.mustRefuse(victim, "in the victim's browser, after the victim started a login of its own: the authorization response (code and state) the mock issued to another browser session",
			"bind the authorization response to the browser that started the login: compare state with the one kept in the session, and use PKCE so a foreign code fails at the token endpoint (RFC 6749 10.12; RFC 9700 4.7)")

		// (b) The victim's own flow, with the state left out of the response.
		l := e.loginWith(ctx, "the authorization response without state", sStateDropped)
		e.mustRefuse(l, "an authorization response without the state the app sent",
			"refuse an authorization response whose state is missing or differs from the one it sent (RFC 6749 10.12)")
	})

	It("P14: an authorization response whose iss is another issuer is refused (mix-up)", check("P14"), func(ctx SpecContext) {
		if !e.metadata.AuthorizationResponseIssParameterSupported {
			Skip("the metadata does not advertise authorization_response_iss_parameter_supported")
		}
		l := e.loginWith(ctx, "an authorization response with another iss", sResponseIssOther)
		if !l.loggedIn {
			return
		}
		msg := fmt.Sprintf("sent: an authorization response whose iss parameter names another issuer (the metadata advertises RFC 9207).\nthe app: logged the user in (%s).\nit should: compare iss with the provider's issuer and refuse a mismatch (RFC 9207 2.4; RFC 9700 4.4).", l.describeEnd())
		if e.profile.MultipleProviders {
			Fail(msg + "\nThe profile says the app uses several providers (multiple_providers: true), so a mix-up attack applies.")
		}
		e.warn(msg + "\nA warning: with a single provider a mix-up cannot happen (set multiple_providers: true if the app has several).")
	})

	It("P15: the authorization requests use PKCE S256, a fresh state (and nonce) per login, response_type=code", check("P15"), func(ctx SpecContext) {
		first := e.loginWith(ctx, "the first of two normal logins")
		second := e.loginWith(ctx, "the second of two normal logins")
		var reqs []mockprovider.AuthorizationRequestSeen
		for _, l := range []*login{first, second} {
			Expect(l.obs.AuthorizationRequests).NotTo(BeEmpty(), "the app's login (%s) sent no authorization request to the mock: %s", l.what, l.describeEnd())
			reqs = append(reqs, l.obs.AuthorizationRequests[0])
		}
		var problems, warnings []string
		pkce := true
		for i, r := range reqs {
			n := i + 1
			if r.ResponseType != "code" {
				problems = append(problems, fmt.Sprintf("login %d sent response_type=%q; it should send response_type=code (RFC 9700 2.1.2)", n, r.ResponseType))
			}
			switch {
			case r.CodeChallenge == "":
				pkce = false
				problems = append(problems, fmt.Sprintf("login %d sent no code_challenge; it should use PKCE with code_challenge_method=S256 (RFC 9700 2.1.1; RFC 7636)", n))
			case r.CodeChallengeMethod != "S256":
				pkce = false
				problems = append(problems, fmt.Sprintf("login %d sent code_challenge_method=%q; it should send S256, never plain (RFC 9700 2.1.1)", n, r.CodeChallengeMethod))
			}
		}
		problems = append(problems, freshness("state", reqs[0].State, reqs[1].State, pkce, &warnings)...)
		if reqs[0].Nonce != "" || reqs[1].Nonce != "" {
			problems = append(problems, freshness("nonce", reqs[0].Nonce, reqs[1].Nonce, false, nil)...)
		}
		if len(problems) > 0 {
			Fail("sent: two normal logins; the mock saw the app's authorization requests.\nthe app:\n- " + strings.Join(problems, "\n- "))
		}
		if len(warnings) > 0 {
			e.warn(strings.Join(warnings, "\n"))
		}
	})

	It("P16: the same callback URL replayed in a fresh browser session gives no second session", check("P16"), func(ctx SpecContext) {
		first := e.loginWith(ctx, "a normal login")
		if !first.loggedIn {
			Fail("the normal login before the replay did not log the user in: " + first.describeEnd())
		}
		Expect(first.obs.Callbacks).NotTo(BeEmpty(), "the mock issued no authorization response to the app")
		callback := first.obs.Callbacks[len(first.obs.Callbacks)-1].URL
		Expect(e.mock.SetRPStimuli(e.clientID, sCodeReusable)).To(Succeed())
		replay := &login{what: "the same callback URL in a fresh browser session", stimuli: []mockprovider.RPStimulus{sCodeReusable}}
		e.logins = append(e.logins, replay)
		e.mock.ResetRPObservations(e.clientID)
		tab := e.freshTab(ctx)
		replay.tab = tab
		replay.end, replay.err = tab.Open(ctx, callback, loginTimeout)
		replay.obs = e.mock.RPObservations(e.clientID)
		if replay.err == nil {
			e.judge(ctx, replay)
		}
		e.mustRefuse(replay, "the callback URL of a finished login (same code and state), loaded again in a browser session that never started a login; the mock would redeem the code again",
			"accept an authorization response only for a login its own session started, and each state and code once (RFC 6749 4.1.2, 10.5)")
	})

	It("P17: token endpoint errors (invalid_grant, 503, reset, stall) give an error page, no login, no 5xx, no hang", check("P17"), func(ctx SpecContext) {
		var problems []string
		for _, r := range []refusal{
			{sInvalidGrant, "a token response 400 invalid_grant"},
			{sToken503, "a token response 503 temporarily_unavailable"},
			{sTokenReset, "a reset connection at the token request"},
			{sTokenStall, "a token endpoint that stalls 10 s before answering"},
		} {
			started := time.Now()
			l := e.loginWith(ctx, r.sent, r.stimulus)
			took := time.Since(started).Round(100 * time.Millisecond)
			switch {
			case l.err != nil:
				problems = append(problems, fmt.Sprintf("%s: the app did not show a page within %s (%v); it should bound the token request by its own timeout and show an error page", r.sent, loginTimeout, l.err))
			case l.loggedIn:
				problems = append(problems, fmt.Sprintf("%s: the app logged the user in; it should not", r.sent))
			case l.end.Status >= 500:
				problems = append(problems, fmt.Sprintf("%s: the app answered HTTP %d at %s after %s; it should show an error page (a 4xx or 200), not crash", r.sent, l.end.Status, l.end.URL, took))
			}
		}
		if len(problems) > 0 {
			Fail("the app's handling of token endpoint failures (RFC 6749 5.2):\n- " + strings.Join(problems, "\n- ") + "\n" + e.logTail())
		}
	})

	e.refuseCheck("P18", "a token response without id_token or with token_type not Bearer", "refuse a token response without id_token (OIDC Core 3.1.3.3) or whose token_type is not Bearer (RFC 6749 7.1)",
		refusal{sNoIDToken, "a token response without id_token"},
		refusal{sNotBearer, "a token response with token_type mac"})

	It("P19: the session cookie is HttpOnly and SameSite Lax or Strict", check("P19"), func(ctx SpecContext) {
		l := e.loginWith(ctx, "a normal login")
		if !l.loggedIn {
			Fail("the normal login did not log the user in: " + l.describeEnd())
		}
		cookies, err := l.tab.Cookies(e.rendered.BaseURL + "/")
		Expect(err).NotTo(HaveOccurred(), "read the browser's cookies")
		if len(cookies) == 0 {
			Skip("the app set no cookie for " + e.rendered.BaseURL + " (no cookie session to judge)")
		}
		var weak []string
		for _, c := range cookies {
			var lacks []string
			if !c.HTTPOnly {
				lacks = append(lacks, "HttpOnly")
			}
			if c.SameSite != network.CookieSameSiteLax && c.SameSite != network.CookieSameSiteStrict {
				lacks = append(lacks, "SameSite=Lax or Strict")
			}
			if strings.HasPrefix(e.rendered.BaseURL, "https:") && !c.Secure {
				lacks = append(lacks, "Secure")
			}
			if len(lacks) > 0 {
				weak = append(weak, fmt.Sprintf("cookie %q lacks %s", c.Name, strings.Join(lacks, ", ")))
			}
		}
		if len(weak) > 0 {
			e.warn("after a normal login the app's cookies: " + strings.Join(weak, "; ") + ".\nit should: set its session cookie HttpOnly with SameSite=Lax or Strict (and Secure on https) (RFC 6265bis; RFC 9700 4.7).")
		}
	})

	// P11 runs last: the key it rotates in stays the mock's signing key, so
	// an app that never refetches the JWKS (the very bug P11 looks for)
	// would fail every check after it.
	It("P11: a signing key rotated just before signing: the app fetches the JWKS again and logs in", check("P11"), func(ctx SpecContext) {
		// The app must have cached the JWKS first: a normal login.
		first := e.loginWith(ctx, "a normal login (to fill the app's JWKS cache)")
		if !first.loggedIn {
			Fail("a normal login before the key rotation did not log the user in: " + first.describeEnd())
		}
		l := e.loginWith(ctx, "a key rotated before signing", sRotateKey)
		e.mustLogIn(l, "an ID token signed with a new key (a kid the app has not seen; the JWKS now serves it)",
			"fetch the JWKS again when a token names an unknown kid, then verify (OpenID RP test oidcc-client-test-signing-key-rotation-just-before-signing)")
	})
}

// refuseCheck declares a check whose stimuli the app must each refuse.
func (e *env) refuseCheck(id, title, should string, refusals ...refusal) {
	It(id+": "+title+" is refused", check(id), func(ctx SpecContext) {
		for _, r := range refusals {
			l := e.loginWith(ctx, r.sent, r.stimulus)
			e.mustRefuse(l, r.sent, should)
		}
	})
}

// signatureCheck declares P3 or P5: an app that accepts a bad signature gets a
// warning, not a failure, because it received the ID token straight from the
// token endpoint over TLS (OIDC Core 3.1.3.7(6) lets it skip the check then).
func (e *env) signatureCheck(id, title string, r refusal) {
	It(id+": "+title+" is refused", check(id), func(ctx SpecContext) {
		l := e.loginWith(ctx, r.sent, r.stimulus)
		if !l.loggedIn {
			return
		}
		e.warn(fmt.Sprintf("sent: %s, in the token response.\nthe app: logged the user in (%s).\nit should: verify the ID token's signature against the provider's JWKS with the advertised algorithms. A warning: the token came straight from the token endpoint, where OIDC Core 3.1.3.7(6) lets a client rely on TLS instead; an app that ever takes ID tokens from elsewhere must verify.", r.sent, l.describeEnd()))
	})
}

// minRandomBits is the entropy a state or nonce needs (RFC 9700 2.1 asks
// for values an attacker cannot guess; 128 bits is the usual floor).
const minRandomBits = 128

// freshness judges a parameter over two logins: present, different, and long
// enough. A missing state is only a warning when PKCE is in use (RFC 9700
// 2.1: PKCE then protects against CSRF); warnings may be nil for "no
// leniency".
func freshness(name, a, b string, pkce bool, warnings *[]string) []string {
	if a == "" || b == "" {
		msg := fmt.Sprintf("a login sent no %s; it should send a fresh unguessable %s on every login (RFC 9700 2.1, 4.7)", name, name)
		if pkce && warnings != nil {
			*warnings = append(*warnings, msg+"; a warning as PKCE S256 is used")
			return nil
		}
		return []string{msg}
	}
	var problems []string
	if a == b {
		problems = append(problems, fmt.Sprintf("both logins sent the same %s; it should be fresh on every login (RFC 9700 4.7)", name))
	}
	for _, v := range []string{a, b} {
		if bits := estimateBits(v); bits < minRandomBits {
			problems = append(problems, fmt.Sprintf("a %s of %d characters carries at most ~%.0f bits; it should carry at least %d random bits (RFC 9700 2.1)", name, len(v), bits, minRandomBits))
			break
		}
	}
	return problems
}

// estimateBits bounds from above the randomness of s: its length times the
// bits per character of the smallest usual alphabet it fits (hex, base64url,
// printable ASCII). An upper bound is all that can be told from two values;
// it catches the short and the obviously structured ones.
func estimateBits(s string) float64 {
	hex, b64 := true, true
	for _, c := range s {
		isHex := (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		isB64 := isHex || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '+' || c == '/' || c == '='
		hex = hex && isHex
		b64 = b64 && isB64
	}
	perChar := math.Log2(95)
	switch {
	case hex:
		perChar = 4
	case b64:
		perChar = 6
	}
	return float64(len(strings.TrimRight(s, "="))) * perChar
}
