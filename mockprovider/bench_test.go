package mockprovider

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
