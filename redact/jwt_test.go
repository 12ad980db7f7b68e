package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/trace"
)

func TestDecodeJWTs(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"sub":"alice","access_token":"`+strings.Repeat("x", 40)+`"}`)) + "."
	lookalike := "eyJub3QganNvbg.eyJzdWIi.sig" // base64 of no JSON object
	many := make([]string, 20)
	for i := range many {
		many[i] = enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"n":`+strings.Repeat("1", i+1)+`}`)) + ".c2ln"
	}
	got := New().DecodeJWTs(
		trace.Exchange{Step: "authorize", URL: "http://127.0.0.1/cb#id_token=" + url.QueryEscape(token)},
		trace.Exchange{Step: "token", ResponseBody: `{"id_token":"` + token + `","other":"` + lookalike + `"}`},
	)
	if len(got) != 1 {
		t.Fatalf("decoded %+v, want the one token once", got)
	}
	j := got[0]
	if j.Where != "authorize request URL" || !strings.Contains(j.Header, `"alg": "none"`) || !strings.Contains(j.Claims, `"sub": "alice"`) {
		t.Errorf("decoded %+v", j)
	}
	if strings.Contains(j.Short, token) || strings.Contains(j.Claims, strings.Repeat("x", 40)) {
		t.Errorf("a secret shown whole: %+v", j)
	}
	if n := len(New().DecodeJWTs(trace.Exchange{ResponseBody: strings.Join(many, " ")})); n != MaxDecodedJWTs {
		t.Errorf("decoded %d of 20 tokens, want the bound %d", n, MaxDecodedJWTs)
	}
}
