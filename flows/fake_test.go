package flows

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// fakeProvider is a deliberately small token endpoint for unit tests of the
// client side; integration tests use the real mock provider.
type fakeProvider struct {
	srv *httptest.Server
	mu  sync.Mutex
	// lastForm and lastBasic are what the last token request carried.
	lastForm  url.Values
	lastBasic [2]string
	// refresh maps live refresh tokens to their successor counter.
	refresh map[string]bool
	n       int
}

func newFakeProvider(t testing.TB) *fakeProvider {
	t.Helper()
	f := &fakeProvider{refresh: map[string]bool{"rt-0": true}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks",
			"code_challenge_methods_supported": []string{"S256"},
			"device_authorization_endpoint":    f.srv.URL + "/device_authorization",
		})
	})
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /device_authorization", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lastForm = r.PostForm
		id, secret, _ := r.BasicAuth()
		f.lastBasic = [2]string{id, secret}
		writeJSON(w, 200, map[string]any{"device_code": "dc", "user_code": "UC", "verification_uri": f.srv.URL + "/device", "expires_in": 600, "interval": 5})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) target() *Target {
	return &Target{Issuer: f.srv.URL, Clients: Clients{
		Confidential: &Client{ClientID: "app", ClientSecret: "s3cret", AuthMethod: AuthClientSecretBasic, Scopes: []string{"openid", "api.read"}},
		Legacy:       &Client{ClientID: "old", ClientSecret: "pw", AuthMethod: AuthClientSecretPost, Scopes: []string{"openid"}},
	}, User: User{Username: "alice", Password: "wonderland"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastForm = r.PostForm
	id, secret, basic := r.BasicAuth()
	f.lastBasic = [2]string{id, secret}
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !(id == "app" && secret == "s3cret") && !(id == "old" && secret == "pw") {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "bad credentials"})
		return
	}
	f.n++
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("at-%d", f.n), "token_type": "Bearer", "expires_in": 300, "scope": r.PostForm.Get("scope")})
	case "password":
		if r.PostForm.Get("username") != "alice" || r.PostForm.Get("password") != "wonderland" {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": "at-pw", "token_type": "Bearer", "expires_in": 300})
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !f.refresh[rt] {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		delete(f.refresh, rt)
		next := fmt.Sprintf("rt-%d", f.n)
		f.refresh[next] = true
		writeJSON(w, 200, map[string]any{"access_token": "at-r", "token_type": "Bearer", "expires_in": 300, "refresh_token": next})
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
	}
}
