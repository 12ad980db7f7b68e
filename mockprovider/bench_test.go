package mockprovider

import (
	"testing"

	"github.com/grantbench/grantbench/mockprovider/internal/tokenfloor"
)

// BenchmarkTokenClientCredentials measures the token endpoint's
// client_credentials path, handler only (no network), per signing algorithm.
func BenchmarkTokenClientCredentials(b *testing.B) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, func(c *Config) { c.SigningAlg = alg })
			serveClientCredentials(b, f.p)
		})
	}
	// Issue 15's bar: several issuers configured and a sticky claims
	// override on the benchmarked client.
	b.Run("ES256+issuers+overrides", func(b *testing.B) {
		f := newFixture(b, func(c *Config) {
			c.SigningAlg = AlgES256
			for _, id := range []string{"tenant-a", "tenant-b", "tenant-c"} {
				ic := IssuerConfig{ID: id}
				var err error
				if ic.Config, err = DefaultConfig(); err != nil {
					b.Fatal(err)
				}
				c.Issuers = append(c.Issuers, ic)
			}
		})
		if err := f.p.AddClaimsOverride(ClaimsOverride{ClientID: "demo", Sticky: true,
			AccessToken: map[string]any{"roles": []any{"reader", "writer"}, "tenant": "acme"}}); err != nil {
			b.Fatal(err)
		}
		serveClientCredentials(b, f.p)
	})
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
			serveClientCredentials(b, floor)
		})
	}
}
