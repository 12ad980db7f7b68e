// Command benchfloor serves the token endpoint yardstick (package tokenfloor)
// on loopback, for run.sh to measure beside `grantbench provider`.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/grantbench/grantbench/mockprovider/internal/tokenfloor"
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

func serve(addr, alg string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %s: benchfloor binds loopback only", addr)
	}
	var key crypto.Signer
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
	issuer := "http://" + addr
	floor, err := tokenfloor.Handler(alg, issuer, key)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/token", floor)
	log.Printf("benchfloor %s on %s", alg, issuer)
	return http.ListenAndServe(addr, mux)
}
