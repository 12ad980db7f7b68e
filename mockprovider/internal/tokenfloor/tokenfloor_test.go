package tokenfloor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// The yardstick must do the work it stands for: refuse bad credentials and
// sign a verifiable JWT, or the 0.9x comparison means nothing.
func TestHandlerSignsForTheDemoClientOnly(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Handler("ES256", "http://127.0.0.1", key)
	if err != nil {
		t.Fatal(err)
	}
	post := func(user, pass string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, pass)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(ClientID, "wrong"); rec.Code != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d, want 401", rec.Code)
	}
	rec := post(ClientID, ClientSecret)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(body.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(&key.PublicKey); err != nil {
		t.Errorf("access token does not verify: %v", err)
	}
}
