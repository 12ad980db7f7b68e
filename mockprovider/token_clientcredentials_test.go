package mockprovider

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestClientCredentials(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SigningAlg = alg })
			for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
				cc := clientcredentials.Config{ClientID: "demo", ClientSecret: "demo-secret", TokenURL: f.url("/token"),
					Scopes: []string{"api.read"}, AuthStyle: style}
				tok, err := cc.Token(testContext(t))
				if err != nil {
					t.Fatal(err)
				}
				if left := time.Until(tok.Expiry); tok.TokenType != "Bearer" || tok.RefreshToken != "" || left < 59*time.Minute || left > time.Hour {
					t.Fatalf("token type %q refresh %q expires in %v", tok.TokenType, tok.RefreshToken, left)
				}
				claims := verifyAccessToken(t, f, tok.AccessToken, jose.SignatureAlgorithm(alg))
				if claims["client_id"] != "demo" || claims["sub"] != "demo" || claims["scope"] != "api.read" || claims["iss"] != f.cfg.Issuer {
					t.Fatalf("claims %v", claims)
				}
			}
		})
	}
}
