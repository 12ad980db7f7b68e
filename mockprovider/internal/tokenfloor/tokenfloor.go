// Package tokenfloor is the yardstick for the provider's token endpoint: the
// least a JWT token endpoint must do. Its handler parses the same form and HTTP
// Basic credentials as the provider and signs one JWT with the same algorithm
// (go-jose, signer built once), nothing else. Issue 2's bar: the provider's
// client_credentials throughput is at least 0.9x this, measured the same way,
// in the Go benchmarks (BenchmarkTokenFloor) and over the network
// (internal/benchfloor and its run.sh).
package tokenfloor

import (
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/grantbench/grantbench/oauth"
)

// The one client the floor knows: the mock provider's demo client.
const (
	ClientID     = "demo"
	ClientSecret = "demo-secret"
)

type claims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	ClientID string `json:"client_id"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
}

// Handler answers client_credentials token requests for ClientID with a JWT
// access token signed by key with alg (RS256 or ES256) and issued by issuer.
func Handler(alg, issuer string, key crypto.Signer) (http.Handler, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
		Key: jose.JSONWebKey{Key: key, KeyID: "floor"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("tokenfloor: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != string(oauth.GrantClientCredentials) {
			http.Error(w, `{"error":"`+oauth.InvalidRequest.String()+`"}`, http.StatusBadRequest)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) != 1 {
			http.Error(w, `{"error":"`+oauth.InvalidClient.String()+`"}`, http.StatusUnauthorized)
			return
		}
		now := time.Now()
		payload, _ := json.Marshal(claims{Iss: issuer, Sub: id, Aud: id, ClientID: id, Iat: now.Unix(), Exp: now.Add(time.Hour).Unix()})
		jws, err := signer.Sign(payload)
		if err != nil {
			http.Error(w, `{"error":"`+oauth.ServerError.String()+`"}`, http.StatusInternalServerError)
			return
		}
		token, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":%q,"expires_in":3600}`, token, oauth.TokenTypeBearer)
	}), nil
}
