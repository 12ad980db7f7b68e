package mockprovider

import (
	"net/url"
	"testing"
	"time"

	"github.com/grantbench/grantbench/oauth"
	"golang.org/x/oauth2"
)

// freshTokens runs a code flow for the demo client and returns its tokens.
func freshTokens(t *testing.T, f *fixture, scopes ...string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", scopes...)
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "s")
	tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return conf, tok
}

// expired makes x/oauth2 refresh on the next Token call.
func expired(tok *oauth2.Token) *oauth2.Token {
	c := *tok
	c.Expiry = time.Now().Add(-time.Minute)
	return &c
}

func TestRefreshTokenSource(t *testing.T) {
	f := newFixture(t, nil)
	conf, tok := freshTokens(t, f, "openid", "api.read", "api.write")
	// E2: refresh after the access token's expiry works and rotates.
	f.clock.Advance(2 * time.Hour)
	if introspect(t, f, tok.AccessToken)["active"] != false {
		t.Fatal("E1: expired access token still active")
	}
	next, err := conf.TokenSource(testContext(t), expired(tok)).Token()
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not return a new access token and a rotated refresh token")
	}
	if got := introspect(t, f, next.AccessToken); got["active"] != true || got["scope"] != "openid api.read api.write" {
		t.Fatalf("refreshed token introspection %v", got)
	}
	if id, _ := next.Extra("id_token").(string); id == "" {
		t.Error("no ID token on refresh with the openid scope")
	}
}

func refreshForm(token string, extra ...string) url.Values {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t, nil)

	t.Run("R1 narrow allowed, widen refused", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read", "api.write")
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken, "scope", "api.read openid"), "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidScope)
		// The refused request did not cost the client its refresh token.
		resp, body = f.postForm(t, "/token", refreshForm(tok.RefreshToken, "scope", "api.read"), "demo", "demo-secret")
		if resp.StatusCode != 200 || body["scope"] != "api.read" {
			t.Fatalf("narrowing: %d %v", resp.StatusCode, body)
		}
		// The next refresh token keeps the original scope.
		resp, body = f.postForm(t, "/token", refreshForm(body["refresh_token"].(string)), "demo", "demo-secret")
		if resp.StatusCode != 200 || body["scope"] != "api.read api.write" {
			t.Fatalf("after narrowing: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("R2 another client", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo-legacy", "legacy-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
		resp, body = f.postForm(t, "/token", refreshForm(tok.RefreshToken, "client_id", "demo-public"), "", "")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
	})
	t.Run("R3 confidential client without authentication", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken, "client_id", "demo"), "", "")
		wantOAuthError(t, resp, body, 401, oauth.InvalidClient)
	})
	t.Run("R4 replay revokes the family", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		resp, first := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		if resp.StatusCode != 200 {
			t.Fatalf("first refresh %d %v", resp.StatusCode, first)
		}
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
		for _, token := range []string{tok.AccessToken, first["access_token"].(string), first["refresh_token"].(string)} {
			if introspect(t, f, token)["active"] != false {
				t.Fatal("a token of the replayed family is still active")
			}
		}
		resp, body = f.postForm(t, "/token", refreshForm(first["refresh_token"].(string)), "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
	})
	t.Run("R5 parallel use", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		wins := parallelWins(8, func() bool {
			resp, _ := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
			return resp.StatusCode == 200
		})
		if wins != 1 {
			t.Fatalf("%d parallel refreshes succeeded, want 1", wins)
		}
	})
	t.Run("R6 expired", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		f.clock.Advance(25 * time.Hour)
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
	})
	t.Run("R6 E3 revoked", func(t *testing.T) {
		_, tok := freshTokens(t, f, "api.read")
		resp, _ := f.postForm(t, "/revoke", url.Values{"token": {tok.RefreshToken}}, "demo", "demo-secret")
		if resp.StatusCode != 200 {
			t.Fatalf("revoke %d", resp.StatusCode)
		}
		resp, body := f.postForm(t, "/token", refreshForm(tok.RefreshToken), "demo", "demo-secret")
		wantOAuthError(t, resp, body, 400, oauth.InvalidGrant)
		if introspect(t, f, tok.AccessToken)["active"] != false {
			t.Fatal("E3: access token still active after its refresh token was revoked")
		}
	})
}
