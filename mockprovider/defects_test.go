package mockprovider

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Each defect must break its behaviour: every scenario below shows the
// misbehaviour with the defect on (the clean behaviour is tested elsewhere).
// TestDefectScenariosCoverCatalogue keeps the two lists in step.
var defectScenarios = map[string]func(t *testing.T, f *fixture) bool{
	"no_cache_headers": func(t *testing.T, f *fixture) bool {
		resp, _ := f.postForm(t, "/token", ccForm(), "demo", "demo-secret")
		return resp.StatusCode == 200 && resp.Header.Get("Cache-Control") == ""
	},
	"state_dropped": func(t *testing.T, f *fixture) bool {
		loc := newBrowser(t, f).authorize(f.url(authorizeURL("demo", "state", "abc")), "approve")
		return loc.Query().Get("code") != "" && !loc.Query().Has("state")
	},
	"code_reuse": func(t *testing.T, f *fixture) bool {
		conf, code, verifier := demoCode(t, f)
		_, err1 := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		_, err2 := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		return err1 == nil && err2 == nil
	},
	"code_race": func(t *testing.T, f *fixture) bool {
		conf, code, verifier := demoCode(t, f)
		return parallelWins(8, func() bool {
			_, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
			return err == nil
		}) > 1
	},
	"code_never_expires": func(t *testing.T, f *fixture) bool {
		conf, code, verifier := demoCode(t, f)
		f.clock.Advance(time.Hour)
		_, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		return err == nil
	},
	"code_not_bound_to_client": func(t *testing.T, f *fixture) bool {
		_, code, verifier := demoCode(t, f)
		other := oauthConfig(f, "demo-public", "")
		other.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		_, err := other.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		return err == nil
	},
	"token_redirect_uri_unchecked": func(t *testing.T, f *fixture) bool {
		conf, code, verifier := demoCode(t, f)
		conf.RedirectURL = "http://127.0.0.1:1/elsewhere"
		_, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		return err == nil
	},
	"pkce_verifier_optional": func(t *testing.T, f *fixture) bool {
		conf, code, _ := demoCode(t, f)
		_, err := conf.Exchange(testContext(t), code)
		return err == nil
	},
	"pkce_unchecked": func(t *testing.T, f *fixture) bool {
		conf, code, _ := demoCode(t, f)
		_, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		return err == nil
	},
	"pkce_downgrade": func(t *testing.T, f *fixture) bool {
		conf := oauthConfig(f, "demo", "demo-secret")
		loc := newBrowser(t, f).authorize(conf.AuthCodeURL("s"), "approve")
		_, err := conf.Exchange(testContext(t), loc.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		return err == nil
	},
	"pkce_plain_allowed": func(t *testing.T, f *fixture) bool {
		conf := oauthConfig(f, "demo", "demo-secret")
		verifier := oauth2.GenerateVerifier()
		loc := newBrowser(t, f).authorize(conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", verifier),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")), "approve")
		_, err := conf.Exchange(testContext(t), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		return err == nil
	},
	"pkce_optional_public": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo-public", "code_challenge", "", "code_challenge_method", "")).has("login-form")
	},
	"unknown_param_rejected": func(t *testing.T, f *fixture) bool {
		return redirectedError(t, f, authorizeURL("demo", "x_extra", "1")) == oauth.InvalidRequest
	},
	"duplicate_params_allowed": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo") + "&scope=openid").has("login-form")
	},
	"response_type_unchecked": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo", "response_type", "")).has("login-form")
	},
	"deny_ignored": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).authorize(f.url(authorizeURL("demo")), "deny").Query().Get("code") != ""
	},
	"open_redirect": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo", "redirect_uri", "https://evil.example/cb")).has("login-form")
	},
	"redirect_prefix_match": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo", "redirect_uri", "http://127.0.0.1:5000/callback/../evil")).has("login-form")
	},
	"redirect_default_first": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo", "redirect_uri", "")).has("login-form")
	},
	"error_to_unregistered": func(t *testing.T, f *fixture) bool {
		b := newBrowser(t, f)
		p := b.get(authorizeURL("demo", "redirect_uri", "https://evil.example/cb", "scope", "nope"))
		return p.resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(p.resp.Header.Get("Location"), "https://evil.example/cb")
	},
	"frameable_login": func(t *testing.T, f *fixture) bool {
		p := newBrowser(t, f).get(authorizeURL("demo"))
		return p.has("login-form") && p.resp.Header.Get("X-Frame-Options") == "" &&
			!strings.Contains(p.resp.Header.Get("Content-Security-Policy"), "frame-ancestors")
	},
	"wrong_response_iss": func(t *testing.T, f *fixture) bool {
		loc := newBrowser(t, f).authorize(f.url(authorizeURL("demo")), "approve")
		return loc.Query().Get("code") != "" && loc.Query().Get("iss") != f.cfg.Issuer
	},
	"redirect_307": func(t *testing.T, f *fixture) bool {
		b := newBrowser(t, f)
		p := b.submit(b.get(authorizeURL("demo")), "/login", url.Values{"username": {"alice"}, "password": {"wonderland"}})
		return p.resp.StatusCode == http.StatusTemporaryRedirect
	},
	"cc_refresh_token": func(t *testing.T, f *fixture) bool {
		_, body := f.postForm(t, "/token", ccForm(), "demo", "demo-secret")
		return body["refresh_token"] != nil
	},
	"no_www_authenticate": func(t *testing.T, f *fixture) bool {
		resp, _ := f.postForm(t, "/token", ccForm(), "demo", "wrong")
		return resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == ""
	},
	"client_secret_unchecked": func(t *testing.T, f *fixture) bool {
		form := ccForm()
		form.Set("client_id", "demo")
		form.Set("client_secret", "wrong")
		resp, _ := f.postForm(t, "/token", form, "", "")
		return resp.StatusCode == 200
	},
	"grant_not_restricted": func(t *testing.T, f *fixture) bool {
		resp, _ := f.postForm(t, "/token", ccForm(), "demo-legacy", "legacy-secret")
		return resp.StatusCode == 200
	},
	"grant_not_restricted_hidden": func(t *testing.T, f *fixture) bool {
		public, _ := f.postForm(t, "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-public"}}, "", "")
		password, _ := f.postForm(t, "/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}, "demo", "demo-secret")
		return public.StatusCode == http.StatusUnauthorized && password.StatusCode == 200
	},
	"wrong_error_code": func(t *testing.T, f *fixture) bool {
		resp, body := f.postForm(t, "/token", url.Values{"grant_type": {"urn:nope"}}, "demo", "demo-secret")
		return resp.StatusCode == 400 && body["error"] != oauth.UnsupportedGrantType.String()
	},
	"scope_unchecked": func(t *testing.T, f *fixture) bool {
		form := ccForm()
		form.Set("scope", "admin api.read")
		resp, _ := f.postForm(t, "/token", form, "demo", "demo-secret")
		return resp.StatusCode == 200
	},
	"token_get_allowed": func(t *testing.T, f *fixture) bool {
		req, _ := http.NewRequest(http.MethodGet, f.url("/token?grant_type=client_credentials&client_id=demo&client_secret=demo-secret"), nil)
		resp, _ := doJSON(t, f.srv.Client(), req)
		return resp.StatusCode == 200
	},
	"panic_on_bad_input": func(t *testing.T, f *fixture) bool {
		req, _ := http.NewRequest(http.MethodPost, f.url("/token"), strings.NewReader("grant_type=%zz"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			return true // the handler crashed and the connection went with it
		}
		resp.Body.Close()
		return false
	},
	"large_body_reset": func(t *testing.T, f *fixture) bool {
		body := "grant_type=client_credentials&pad=" + strings.Repeat("a", int(f.cfg.Limits.MaxBodyBytes))
		req, _ := http.NewRequest(http.MethodPost, f.url("/token"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			return true // no response: the connection was dropped
		}
		resp.Body.Close()
		return false
	},
	"refresh_scope_widened": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken, "scope", "api.read api.write"), "demo", "demo-secret")
		return resp.StatusCode == 200
	},
	"refresh_not_bound": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo-legacy", "legacy-secret")
		return resp.StatusCode == 200
	},
	"refresh_no_client_auth": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken, "client_id", "demo"), "", "")
		return resp.StatusCode == 200
	},
	"no_refresh_rotation": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		r1, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		r2, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		return r1.StatusCode == 200 && r2.StatusCode == 200
	},
	"no_reuse_detection": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		_, first := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		replay, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		return replay.StatusCode == 400 && introspect(t, f, first["access_token"].(string))["active"] == true
	},
	"refresh_race": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		return parallelWins(8, func() bool {
			resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
			return resp.StatusCode == 200
		}) > 1
	},
	"refresh_never_expires": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		f.clock.Advance(48 * time.Hour)
		resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		return resp.StatusCode == 200
	},
	"device_pending_wrong": func(t *testing.T, f *fixture) bool {
		code, _ := startDevice(t, f)
		return pollDevice(t, f, code) == oauth.SlowDown
	},
	"no_slow_down": func(t *testing.T, f *fixture) bool {
		code, _ := startDevice(t, f)
		pollDevice(t, f, code)
		return pollDevice(t, f, code) == oauth.AuthorizationPending
	},
	"device_deny_ignored": func(t *testing.T, f *fixture) bool {
		code, complete := startDevice(t, f)
		approveDevice(t, f, newBrowser(t, f), complete, "deny")
		return pollDevice(t, f, code) == oauth.AuthorizationPending
	},
	"device_code_never_expires": func(t *testing.T, f *fixture) bool {
		code, _ := startDevice(t, f)
		f.clock.Advance(time.Hour)
		return pollDevice(t, f, code) == oauth.AuthorizationPending
	},
	"device_code_reuse": func(t *testing.T, f *fixture) bool {
		code, complete := startDevice(t, f)
		approveDevice(t, f, newBrowser(t, f), complete, "approve")
		return pollDevice(t, f, code) == "" && pollDevice(t, f, code) == ""
	},
	"password_always_on": func(t *testing.T, f *fixture) bool {
		_, err := oauthConfig(f, "demo", "demo-secret").PasswordCredentialsToken(testContext(t), "alice", "wonderland")
		return err == nil
	},
	"implicit_always_on": func(t *testing.T, f *fixture) bool {
		return newBrowser(t, f).get(authorizeURL("demo", "response_type", "token", "code_challenge", "", "code_challenge_method", "")).has("login-form")
	},
	"implicit_refresh_token": func(t *testing.T, f *fixture) bool {
		loc := newBrowser(t, f).authorize(f.url(authorizeURL("demo-legacy", "response_type", "token", "scope", "api.read")), "approve")
		frag, _ := url.ParseQuery(loc.Fragment)
		return frag.Get("access_token") != "" && frag.Get("refresh_token") != ""
	},
	"bad_signature": func(t *testing.T, f *fixture) bool {
		parsed, err := jwt.ParseSigned(ccToken(t, f), []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		return parsed.Claims(fetchJWKS(t, f), &claims) != nil
	},
	"alg_none": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, ccToken(t, f), 0)["alg"] == "none"
	},
	"wrong_iss": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, ccToken(t, f), 1)["iss"] != f.cfg.Issuer
	},
	"wrong_aud": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, ccToken(t, f), 1)["aud"] != "demo"
	},
	"exp_mismatch": func(t *testing.T, f *fixture) bool {
		c := jwtPart(t, ccToken(t, f), 1)
		return c["exp"].(float64)-c["iat"].(float64) != 3600
	},
	"nonce_dropped": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, demoIDToken(t, f), 1)["nonce"] == nil
	},
	"bad_at_hash": func(t *testing.T, f *fixture) bool {
		conf := oauthConfig(f, "demo", "demo-secret", "openid")
		code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s")
		tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return jwtPart(t, tok.Extra("id_token").(string), 1)["at_hash"] != halfHash(tok.AccessToken)
	},
	"wrong_typ": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, ccToken(t, f), 0)["typ"] != "at+jwt"
	},
	"rotation_drops_old_key": func(t *testing.T, f *fixture) bool {
		ccToken(t, f)
		if _, _, _, err := f.p.RotateSigningKey(); err != nil {
			t.Fatal(err)
		}
		return len(fetchJWKS(t, f).Keys) == 1
	},
	"unadvertised_alg": func(t *testing.T, f *fixture) bool {
		req, _ := http.NewRequest(http.MethodGet, f.url("/.well-known/openid-configuration"), nil)
		_, doc := doJSON(t, f.srv.Client(), req)
		algs, _ := doc["id_token_signing_alg_values_supported"].([]any)
		alg, _ := jwtPart(t, demoIDToken(t, f), 0)["alg"].(string)
		return len(algs) == 1 && algs[0] != alg
	},
	"access_token_alg_none": func(t *testing.T, f *fixture) bool {
		return jwtPart(t, ccToken(t, f), 0)["alg"] == "none" && jwtPart(t, demoIDToken(t, f), 0)["alg"] != "none"
	},
	"access_token_bad_signature": func(t *testing.T, f *fixture) bool {
		keys := fetchJWKS(t, f)
		verifies := func(token string) bool {
			parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			return parsed.Claims(keys, &claims) == nil
		}
		return !verifies(ccToken(t, f)) && verifies(demoIDToken(t, f))
	},
	"rotation_keeps_old_key": func(t *testing.T, f *fixture) bool {
		ccToken(t, f)
		if _, _, _, err := f.p.RotateSigningKey(); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(48 * time.Hour)
		return len(fetchJWKS(t, f).Keys) == 2
	},
	"rotation_prune_drops_current": func(t *testing.T, f *fixture) bool {
		ccToken(t, f)
		if _, _, _, err := f.p.RotateSigningKey(); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(48 * time.Hour)
		return len(fetchJWKS(t, f).Keys) == 0
	},
	"scope_change_unreported": func(t *testing.T, f *fixture) bool {
		form := ccForm()
		form.Set("scope", "api.read grantbench.unknown")
		resp, body := f.postForm(t, "/token", form, "demo", "demo-secret")
		return resp.StatusCode == 200 && body["scope"] == nil
	},
	"weak_tokens": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		return len(tok.RefreshToken) <= 8
	},
	"expired_still_active": func(t *testing.T, f *fixture) bool {
		token := ccToken(t, f)
		f.clock.Advance(2 * time.Hour)
		return introspect(t, f, token)["active"] == true
	},
	"revoke_noop": func(t *testing.T, f *fixture) bool {
		token := ccToken(t, f)
		f.postForm(t, "/revoke", url.Values{"token": {token}}, "demo", "demo-secret")
		return introspect(t, f, token)["active"] == true
	},
	"metadata_issuer_mismatch": func(t *testing.T, f *fixture) bool {
		req, _ := http.NewRequest(http.MethodGet, f.url("/.well-known/openid-configuration"), nil)
		_, doc := doJSON(t, f.srv.Client(), req)
		return doc["issuer"] != f.cfg.Issuer
	},
	"jwks_leaks_private": func(t *testing.T, f *fixture) bool {
		resp, err := f.srv.Client().Get(f.url("/jwks"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `"d":`)
	},
	"introspect_leaks": func(t *testing.T, f *fixture) bool {
		token := ccToken(t, f)
		f.postForm(t, "/revoke", url.Values{"token": {token}}, "demo", "demo-secret")
		got, _ := postRaw(f, "/introspect", url.Values{"token": {token}}, "demo", "demo-secret")
		return strings.HasPrefix(got, `{"active":false`) && got != `{"active":false}`
	},
	"introspect_open": func(t *testing.T, f *fixture) bool {
		resp, body := f.postForm(t, "/introspect", url.Values{"token": {ccToken(t, f)}}, "", "")
		return resp.StatusCode == 200 && body["active"] == true
	},
	"revoke_unknown_error": func(t *testing.T, f *fixture) bool {
		resp, _ := f.postForm(t, "/revoke", url.Values{"token": {"unknown"}}, "demo", "demo-secret")
		return resp.StatusCode == 400
	},
	"code_reuse_keeps_tokens": func(t *testing.T, f *fixture) bool {
		conf, code, verifier := demoCode(t, f)
		first, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		return err != nil && introspect(t, f, first.AccessToken)["active"] == true
	},
	"revoke_keeps_access_tokens": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		f.postForm(t, "/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, "demo", "demo-secret")
		refresh, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		return refresh.StatusCode == 400 && introspect(t, f, tok.AccessToken)["active"] == true
	},
	"family_access_tokens_survive": func(t *testing.T, f *fixture) bool {
		_, tok := freshTokens(t, f, "api.read")
		_, rotated := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		replay, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		newest, _ := f.postForm(t, "/token", refreshForm(rotated["refresh_token"].(string)), "demo", "demo-secret")
		return replay.StatusCode == 400 && newest.StatusCode == 400 && introspect(t, f, rotated["access_token"].(string))["active"] == true
	},
	"revoke_not_bound": func(t *testing.T, f *fixture) bool {
		token := ccToken(t, f)
		f.postForm(t, "/revoke", url.Values{"token": {token}}, "demo-legacy", "legacy-secret")
		return introspect(t, f, token)["active"] == false
	},
}

func ccForm() url.Values { return url.Values{"grant_type": {"client_credentials"}} }

func ccToken(t *testing.T, f *fixture) string {
	t.Helper()
	tok, err := (&clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token")}).Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// authorizeURL is a valid demo authorization request with changes: pairs of
// name, value ("" deletes).
func authorizeURL(client string, changes ...string) string {
	q := url.Values{"client_id": {client}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "state": {"xyz"},
		"scope": {"openid"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(changes); i += 2 {
		if changes[i+1] == "" {
			q.Del(changes[i])
		} else {
			q.Set(changes[i], changes[i+1])
		}
	}
	return "/authorize?" + q.Encode()
}

func redirectedError(t *testing.T, f *fixture, path string) oauth.ErrorCode {
	t.Helper()
	p := newBrowser(t, f).get(path)
	if p.resp.StatusCode != http.StatusSeeOther {
		return ""
	}
	u, _ := url.Parse(p.resp.Header.Get("Location"))
	return oauth.ErrorCode(u.Query().Get("error"))
}

func demoCode(t *testing.T, f *fixture) (*oauth2.Config, string, string) {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", "api.read")
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s")
	return conf, code, verifier
}

func demoIDToken(t *testing.T, f *fixture) string {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s", oauth2.SetAuthURLParam("nonce", "n1"))
	tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Extra("id_token").(string)
}

func jwtPart(t *testing.T, token string, part int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[part])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func startDevice(t *testing.T, f *fixture) (string, *oauth2.DeviceAuthResponse) {
	t.Helper()
	resp, body := f.postForm(t, "/device_authorization", url.Values{"client_id": {"demo-public"}, "scope": {"api.read"}}, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, body)
	}
	return body["device_code"].(string), &oauth2.DeviceAuthResponse{
		VerificationURIComplete: body["verification_uri_complete"].(string), UserCode: body["user_code"].(string)}
}

// pollDevice polls once and returns the error code, "" on tokens.
func pollDevice(t *testing.T, f *fixture, code string) oauth.ErrorCode {
	t.Helper()
	_, body := f.postForm(t, "/token", url.Values{"grant_type": {DeviceCodeGrantURN}, "device_code": {code}, "client_id": {"demo-public"}}, "", "")
	if body["access_token"] != nil {
		return ""
	}
	s, _ := body["error"].(string)
	return oauth.ErrorCode(s)
}

func TestDefectScenariosCoverCatalogue(t *testing.T) {
	for _, d := range Defects() {
		if defectScenarios[d.Name] == nil {
			t.Errorf("defect %s has no scenario", d.Name)
		}
	}
	if len(defectScenarios) != int(defectCount) {
		t.Errorf("%d scenarios for %d defects", len(defectScenarios), defectCount)
	}
}

// TestEachDefectBreaksItsBehaviour runs every scenario with its defect on
// (it must misbehave) and with no defect (it must not).
func TestEachDefectBreaksItsBehaviour(t *testing.T) {
	for _, d := range Defects() {
		scenario := defectScenarios[d.Name]
		if scenario == nil {
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			on := newFixture(t, func(c *Config) { c.Defects = []string{d.Name} })
			if !scenario(t, on) {
				t.Errorf("%s on: the behaviour is not broken (%s)", d.Name, d.Does)
			}
			clean := newFixture(t, nil)
			if scenario(t, clean) {
				t.Errorf("%s off: the scenario misbehaves on a clean provider", d.Name)
			}
		})
	}
}

func TestDefectsPerClientAndAdmin(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Clients[0].Defects = []string{"cc_refresh_token"} }, WithAdminToken(testAdminToken))
	if _, body := f.postForm(t, "/token", ccForm(), "demo", "demo-secret"); body["refresh_token"] == nil {
		t.Fatal("per-client defect not on for demo")
	}
	// Switched off and on again through the admin API, for another client.
	resp, body := adminCall(t, f, http.MethodPut, "/admin/defects", testAdminToken, `{"provider": [], "clients": {"demo-legacy": ["grant_not_restricted"]}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /admin/defects: %d %v", resp.StatusCode, body)
	}
	if _, body := f.postForm(t, "/token", ccForm(), "demo", "demo-secret"); body["refresh_token"] != nil {
		t.Fatal("defect still on after the admin API replaced the set")
	}
	if resp, _ := f.postForm(t, "/token", ccForm(), "demo-legacy", "legacy-secret"); resp.StatusCode != 200 {
		t.Fatal("per-client defect from the admin API not on")
	}
	for _, bad := range []string{`{"provider": ["no_such_defect"]}`, `{"clients": {"nobody": ["code_reuse"]}}`,
		`{"clients": {"demo": ["jwks_leaks_private"]}}`, `[]`} {
		if resp, _ := adminCall(t, f, http.MethodPut, "/admin/defects", testAdminToken, bad); resp.StatusCode != 400 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	resp, body = adminCall(t, f, http.MethodGet, "/admin/defects", testAdminToken, "")
	if resp.StatusCode != 200 || body["clients"].(map[string]any)["demo-legacy"] == nil {
		t.Fatalf("GET /admin/defects: %v", body)
	}
	if _, err := ParseConfig([]byte("defects: [nope]")); err == nil || !strings.Contains(err.Error(), "defects[0]") {
		t.Errorf("unknown defect in config: %v", err)
	}
}

func TestConfigAddDefect(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := cfg.Clients[0].ID
	for _, value := range []string{"code_reuse", client + ":code_reuse", "jwks_leaks_private"} {
		if err := cfg.AddDefect(value); err != nil {
			t.Errorf("%s: %v", value, err)
		}
	}
	if !slices.Equal(cfg.Defects, []string{"code_reuse", "jwks_leaks_private"}) || !slices.Contains(cfg.Clients[0].Defects, "code_reuse") {
		t.Errorf("defects not added: provider %v, client %v", cfg.Defects, cfg.Clients[0].Defects)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config with added defects invalid: %v", err)
	}
	for value, want := range map[string]string{
		"no_such_defect":               "defects[2]",
		client + ":no_such_defect":     "clients[0].defects[1]",
		client + ":jwks_leaks_private": "whole provider only",
		"nobody:code_reuse":            `no client "nobody"`,
		":code_reuse":                  `no client ""`,
		client + ":":                   "unknown defect",
	} {
		if err := cfg.AddDefect(value); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", value, err, want)
		}
	}
	if len(cfg.Defects) != 2 || len(cfg.Clients[0].Defects) != 1 {
		t.Errorf("a refused defect was added: provider %v, client %v", cfg.Defects, cfg.Clients[0].Defects)
	}
}

// TestDefectSetsAreConsistent checks the catalogue's sets without running
// anything: each defect breaks what CHECKS.md names it for (Checks within
// Breaks), lists no check twice, and no check both fails and warns.
func TestDefectSetsAreConsistent(t *testing.T) {
	for _, d := range Defects() {
		if len(d.Breaks) == 0 && len(d.Warns) == 0 {
			t.Errorf("%s: empty Breaks and Warns (the mutation matrix measures them: suites/matrix)", d.Name)
		}
		for _, id := range d.Checks {
			if !slices.Contains(d.Breaks, id) {
				t.Errorf("%s: Checks names %s, which Breaks %v lacks", d.Name, id, d.Breaks)
			}
		}
		seen := map[string]bool{}
		for _, id := range append(slices.Clone(d.Breaks), d.Warns...) {
			if seen[id] {
				t.Errorf("%s: %s listed twice in Breaks and Warns", d.Name, id)
			}
			seen[id] = true
		}
		if d.Does == "" {
			t.Errorf("%s: no description (Does)", d.Name)
		}
	}
}
