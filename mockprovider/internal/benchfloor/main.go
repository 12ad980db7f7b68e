// Command benchfloor is the yardstick for the provider's token endpoint: the
// least a JWT token endpoint must do. It parses the same form and HTTP Basic
// credentials as the provider and signs one JWT with the same algorithm
// (go-jose, signer built once), nothing else. Issue 2's bar: the provider's
// client_credentials throughput is at least 0.9x this, measured the same way
// (see run.sh).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9300", "listen address (loopback)")
	alg := flag.String("alg", "RS256", "RS256 or ES256")
	flag.Parse()
	if err := serve(*addr, *alg); err != nil {
		fmt.Fprintln(os.Stderr, "benchfloor:", err)
		os.Exit(1)
	}
}

type claims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	ClientID string `json:"client_id"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
}

func serve(addr, alg string) error {
	var key any
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return fmt.Errorf("--alg %q is not RS256 or ES256", alg)
	}
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg),
		Key: jose.JSONWebKey{Key: key, KeyID: "floor"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return err
	}
	issuer := "http://" + addr
	http.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
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
		payload, _ := json.Marshal(claims{Iss: issuer, Sub: id, Aud: id, ClientID: id, Iat: now.Unix(), Exp: now.Add(time.Hour).Unix()})
		jws, err := signer.Sign(payload)
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		token, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, token)
	})
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %s: benchfloor binds loopback only", addr)
	}
	log.Printf("benchfloor %s on %s", alg, issuer)
	return http.ListenAndServe(addr, nil)
}
