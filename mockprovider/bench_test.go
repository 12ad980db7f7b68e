package mockprovider

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// BenchmarkTokenClientCredentials measures the token endpoint's
// client_credentials path, handler only (no network), per signing algorithm.
func BenchmarkTokenClientCredentials(b *testing.B) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, func(c *Config) { c.SigningAlg = alg })
			const body = "grant_type=client_credentials&scope=api.read"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("demo", "demo-secret")
					rec := httptest.NewRecorder()
					f.p.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

// BenchmarkTokenFloor is the yardstick for BenchmarkTokenClientCredentials
// (the same as internal/benchfloor): parse the same form and Basic
// credentials and sign one JWT with the same algorithm, nothing else.
func BenchmarkTokenFloor(b *testing.B) {
	keys, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []string{AlgRS256, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
				Key: jose.JSONWebKey{Key: keys[alg], KeyID: "floor"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			type claims struct {
				Iss      string `json:"iss"`
				Sub      string `json:"sub"`
				Aud      string `json:"aud"`
				ClientID string `json:"client_id"`
				Iat      int64  `json:"iat"`
				Exp      int64  `json:"exp"`
			}
			floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
					http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
					return
				}
				id, secret, ok := r.BasicAuth()
				if !ok || id != "demo" || subtle.ConstantTimeCompare([]byte(secret), []byte("demo-secret")) != 1 {
					http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
					return
				}
				now := time.Now()
				payload, _ := json.Marshal(claims{Iss: "http://127.0.0.1", Sub: id, Aud: id, ClientID: id, Iat: now.Unix(), Exp: now.Add(time.Hour).Unix()})
				jws, err := signer.Sign(payload)
				if err != nil {
					http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
					return
				}
				token, _ := jws.CompactSerialize()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, token)
			})
			const body = "grant_type=client_credentials&scope=api.read"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("demo", "demo-secret")
					rec := httptest.NewRecorder()
					floor.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}
