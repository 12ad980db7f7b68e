package mockprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
)

func TestDiscovery(t *testing.T) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		f := newFixture(t, func(c *Config) { c.SigningAlg = alg })
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			req, _ := http.NewRequest(http.MethodGet, f.url(path), nil)
			resp, doc := doJSON(t, f.srv.Client(), req)
			if resp.StatusCode != 200 || doc["issuer"] != f.srv.URL {
				t.Fatalf("M1 %s: %d issuer %v, want %s", path, resp.StatusCode, doc["issuer"], f.srv.URL)
			}
			for field, want := range map[string]string{
				"authorization_endpoint": "/authorize", "token_endpoint": "/token", "jwks_uri": "/jwks",
				"userinfo_endpoint": "/userinfo", "introspection_endpoint": "/introspect",
				"revocation_endpoint": "/revoke", "device_authorization_endpoint": "/device_authorization",
			} {
				if doc[field] != f.url(want) {
					t.Errorf("%s = %v", field, doc[field])
				}
			}
			if !slices.Equal(toStrings(doc["code_challenge_methods_supported"]), []string{"S256"}) ||
				doc["authorization_response_iss_parameter_supported"] != true ||
				!slices.Equal(toStrings(doc["id_token_signing_alg_values_supported"]), []string{alg}) {
				t.Errorf("metadata %v", doc)
			}
			for _, g := range []string{"authorization_code", "client_credentials", "refresh_token", "password", DeviceCodeGrantURN, "implicit"} {
				if !slices.Contains(toStrings(doc["grant_types_supported"]), g) {
					t.Errorf("grant %s not advertised", g)
				}
			}
		}
		// M2: public members only, each key with kid, alg, use.
		resp, err := f.srv.Client().Get(f.url("/jwks"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("jwks %s: %v", raw, err)
		}
		key := set.Keys[0]
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, leaked := key[private]; leaked {
				t.Fatalf("M2: private member %s in the JWKS", private)
			}
		}
		if key["kid"] == "" || key["alg"] != alg || key["use"] != "sig" {
			t.Fatalf("key %v", key)
		}
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
