package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/trace"
)

// EntryJWT names the report entry, added when results are redacted, that
// holds the JWTs of a spec's exchanges decoded ([]DecodedJWT): redaction
// shortens a token to "eyJhbG…(len 812)", and the evidence would no longer
// show that it says alg "none".
const EntryJWT = "jwt"

// DecodedJWT is one JWT found in the evidence: where, its redacted form, and
// its header and claims as indented JSON, redacted like everything else.
// The signature is not shown; without it the token cannot be used.
type DecodedJWT struct {
	Where  string `json:"where"`
	Short  string `json:"short"`
	Header string `json:"header"`
	Claims string `json:"claims"`
}

// maxJWTsPerSpec bounds the decoded tokens of one spec's evidence.
const maxJWTsPerSpec = 12

// compactJWT is a JWS in compact serialization: header.payload.signature.
var compactJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// decodeJWTs finds the JWTs in exchanges (URL, headers, bodies) and decodes
// each once, redacting with red.
func decodeJWTs(red ginkgoRedaction, exchanges []trace.Exchange) []DecodedJWT {
	var out []DecodedJWT
	seen := map[string]bool{}
	look := func(where, text string) {
		if text == "" {
			return
		}
		// Query and form values are percent-encoded at times.
		if unescaped, err := url.QueryUnescape(text); err == nil {
			text = unescaped
		}
		for _, token := range compactJWT.FindAllString(text, -1) {
			if seen[token] || len(out) >= maxJWTsPerSpec {
				continue
			}
			seen[token] = true
			parts := strings.Split(token, ".")
			header, ok1 := decodeSegment(parts[0])
			claims, ok2 := decodeSegment(parts[1])
			if !ok1 || !ok2 {
				continue // a lookalike, or an encrypted token: nothing to show
			}
			out = append(out, DecodedJWT{Where: where, Short: red.String(token), Header: red.String(header), Claims: red.String(claims)})
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

// jwtEntry is the report entry holding decoded tokens.
func jwtEntry(tokens []DecodedJWT, at types.ReportEntry) types.ReportEntry {
	return types.ReportEntry{Name: EntryJWT, Value: types.WrapEntryValue(tokens), Time: at.Time, Location: at.Location, Visibility: types.ReportEntryVisibilityNever}
}

// jwtsOf reads an EntryJWT entry back.
func jwtsOf(entry types.ReportEntry) []DecodedJWT {
	if v, ok := entry.GetRawValue().([]DecodedJWT); ok {
		return v
	}
	var out []DecodedJWT
	if json.Unmarshal([]byte(entry.Value.AsJSON), &out) != nil {
		return nil
	}
	return out
}
