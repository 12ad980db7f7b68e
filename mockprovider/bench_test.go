package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/mockprovider/internal/tokenfloor"
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
// (package tokenfloor, which internal/benchfloor serves): parse the same form and Basic
// credentials and sign one JWT with the same algorithm, nothing else.
func BenchmarkTokenFloor(b *testing.B) {
	keys, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []string{AlgRS256, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			floor, err := tokenfloor.Handler(alg, "http://127.0.0.1", keys[alg])
			if err != nil {
				b.Fatal(err)
			}
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
