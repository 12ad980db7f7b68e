// Command cannedop answers every token request with one canned response, read
// from a file, and serves discovery for it. It is not an OAuth server: it checks
// nothing. deploy/bench/bars.sh runs it in place of the provider to measure the
// load clients where the client, not the server, is the bottleneck — a net/http
// server returning fixed bytes outpaces any of them on one core.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9500", "listen address (loopback only)")
	bodyFile := flag.String("body", "", "`file` holding the token response body to send (JSON)")
	flag.Parse()
	if err := serve(*addr, *bodyFile); err != nil {
		fmt.Fprintln(os.Stderr, "cannedop:", err)
		os.Exit(2)
	}
}

func serve(addr, bodyFile string) error {
	h, err := handler(addr, bodyFile)
	if err != nil {
		return err
	}
	log.Printf("cannedop on http://%s", addr)
	return http.ListenAndServe(addr, h)
}

// handler checks the flags and builds the two endpoints.
func handler(addr, bodyFile string) (http.Handler, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--addr %s: cannedop binds loopback only", addr)
	}
	if bodyFile == "" {
		return nil, fmt.Errorf("--body: a file with the token response is required")
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return nil, fmt.Errorf("--body: %w", err)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("--body %s: not JSON", bodyFile)
	}
	issuer := "http://" + addr
	discovery, _ := json.Marshal(map[string]any{
		"issuer": issuer, "token_endpoint": issuer + "/token", "authorization_endpoint": issuer + "/authorize",
		"jwks_uri": issuer + "/jwks", "response_types_supported": []string{"code"},
		"grant_types_supported": []string{"client_credentials"},
	})
	length := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(discovery)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Cache-Control"] = []string{"no-store"}
		h["Content-Length"] = []string{length}
		w.Write(body)
	})
	return mux, nil
}
