package flows

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkClientCredentials measures the per-call cost the load runner pays
// for a flow, beside x/oauth2 alone on the same connection pool: the
// difference is what flows adds (trace, typing). The provider is the small
// fake (no signing), so the client side dominates.
func BenchmarkClientCredentials(b *testing.B) {
	tg := newFakeProvider(b).target()
	ctx := context.Background()
	if err := tg.Discover(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("flows/RecordTrace", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Record: RecordTrace}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("flows/RecordAll", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("x-oauth2", func(b *testing.B) {
		c := tg.Clients.Confidential
		conf := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: tg.Metadata.TokenEndpoint,
			Scopes: []string{"api.read"}, AuthStyle: oauth2.AuthStyleInHeader}
		octx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: tg.http().base})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := conf.Token(octx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
