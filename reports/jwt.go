package reports

import (
	"encoding/json"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/trace"
)

// EntryJWT names the report entry holding the JWTs of a spec's evidence,
// decoded ([]redact.DecodedJWT). The suites attach it beside the exchanges,
// which they redact first; results redacted here from exchanges as sent get
// it too.
const EntryJWT = "jwt"

// DecodedJWT is a token of the evidence, decoded and redacted.
type DecodedJWT = redact.DecodedJWT

// maxJWTsPerSpec bounds the decoded tokens of one spec's evidence.
const maxJWTsPerSpec = redact.MaxDecodedJWTs

func decodeJWTs(r ginkgoRedaction, exchanges []trace.Exchange) []DecodedJWT {
	return r.DecodeJWTs(exchanges...)
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
