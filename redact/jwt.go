package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/grantbench/grantbench/trace"
)

// DecodedJWT is a JWT found in evidence, readable and safe to show: where it
// was, its redacted form, and its header and claims as indented JSON,
// redacted like everything else. The signature is left out; without it the
// token cannot be used. Redaction alone would shorten the token to
// "eyJhbG…(len 812)" and hide that its header says alg "none".
type DecodedJWT struct {
	Where  string `json:"where"`
	Short  string `json:"short"`
	Header string `json:"header"`
	Claims string `json:"claims"`
}

// MaxDecodedJWTs bounds the tokens DecodeJWTs returns.
const MaxDecodedJWTs = 12

// compactJWS is a JWS in compact serialization: header.payload.signature.
var compactJWS = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// DecodeJWTs finds the JWTs in exchanges as sent (URL, headers, bodies, not
// yet redacted) and decodes each once. Nothing is verified: this is for
// showing, the checks verify.
func (r *Redactor) DecodeJWTs(exchanges ...trace.Exchange) []DecodedJWT {
	var out []DecodedJWT
	seen := map[string]bool{}
	look := func(where, text string) {
		if text == "" || len(out) >= MaxDecodedJWTs {
			return
		}
		// Query and form values are percent-encoded at times.
		if unescaped, err := url.QueryUnescape(text); err == nil {
			text = unescaped
		}
		for _, token := range compactJWS.FindAllString(text, -1) {
			if seen[token] || len(out) >= MaxDecodedJWTs {
				continue
			}
			seen[token] = true
			parts := strings.Split(token, ".")
			header, ok1 := decodeSegment(parts[0])
			claims, ok2 := decodeSegment(parts[1])
			if !ok1 || !ok2 {
				continue // a lookalike, or an encrypted token: nothing to show
			}
			out = append(out, DecodedJWT{Where: where, Short: r.String(token), Header: r.String(header), Claims: r.String(claims)})
		}
	}
	for _, e := range exchanges {
		step := e.Step
		if step != "" {
			step += " "
		}
		look(step+"request URL", e.URL)
		for _, name := range sortedKeys(e.RequestHeader) {
			look(step+"request header "+name, strings.Join(e.RequestHeader[name], " "))
		}
		look(step+"request body", e.RequestBody)
		for _, name := range sortedKeys(e.ResponseHeader) {
			look(step+"response header "+name, strings.Join(e.ResponseHeader[name], " "))
		}
		look(step+"response body", e.ResponseBody)
	}
	return out
}

func sortedKeys(h map[string][]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeSegment decodes one base64url segment holding a JSON object and
// returns it indented.
func decodeSegment(segment string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(segment, "="))
	if err != nil {
		return "", false
	}
	var object map[string]json.RawMessage
	if json.Unmarshal(raw, &object) != nil {
		return "", false
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return "", false
	}
	return b.String(), true
}
