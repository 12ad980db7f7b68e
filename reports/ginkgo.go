package reports

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/trace"
)

// RedactGinkgoReports returns a copy of Ginkgo suite reports redacted by red
// (nil: by shape and place only), fit to be written as results.json and shared:
// failure messages, panics, captured output, progress reports, spec events and
// report entries (exchanges field by field, anything else as text). Write
// results.json from this, not from the report Ginkgo hands over, which holds the
// evidence as sent.
func RedactGinkgoReports(red *redact.Redactor, reports []types.Report) ([]types.Report, error) {
	r := ginkgoRedaction{red}
	out := make([]types.Report, len(reports))
	for i, rep := range reports {
		rep.SpecialSuiteFailureReasons = redactAll(r, rep.SpecialSuiteFailureReasons)
		specs := make(types.SpecReports, len(rep.SpecReports))
		for j, spec := range rep.SpecReports {
			redacted, err := r.specReport(spec)
			if err != nil {
				return nil, fmt.Errorf("reports: redact %q: %w", spec.LeafNodeText, err)
			}
			specs[j] = redacted
		}
		rep.SpecReports = specs
		out[i] = rep
	}
	return out, nil
}

// ginkgoRedaction walks Ginkgo's report types with a Redactor (which may be nil).
type ginkgoRedaction struct{ *redact.Redactor }

func (r ginkgoRedaction) specReport(spec types.SpecReport) (types.SpecReport, error) {
	spec.LeafNodeText = r.String(spec.LeafNodeText)
	spec.Failure = r.failure(spec.Failure)
	spec.CapturedGinkgoWriterOutput = r.String(spec.CapturedGinkgoWriterOutput)
	spec.CapturedStdOutErr = r.String(spec.CapturedStdOutErr)

	spec.AdditionalFailures = slices.Clone(spec.AdditionalFailures)
	for i := range spec.AdditionalFailures {
		spec.AdditionalFailures[i].Failure = r.failure(spec.AdditionalFailures[i].Failure)
	}
	spec.ProgressReports = slices.Clone(spec.ProgressReports)
	for i := range spec.ProgressReports {
		spec.ProgressReports[i] = r.progressReport(spec.ProgressReports[i])
	}
	spec.SpecEvents = slices.Clone(spec.SpecEvents)
	for i := range spec.SpecEvents {
		spec.SpecEvents[i].Message = r.String(spec.SpecEvents[i].Message)
	}
	spec.ReportEntries = slices.Clone(spec.ReportEntries)
	var tokens []DecodedJWT
	var last types.ReportEntry
	decoded := false
	for i, entry := range spec.ReportEntries {
		switch entry.Name {
		case EntryJWT:
			decoded = true // redacted before: the tokens are decoded already
		case EntryExchange:
			// Decoded from the evidence as sent, before redaction shortens
			// every token.
			if exchanges, err := exchangesOf(entry); err == nil {
				tokens = append(tokens, decodeJWTs(r, exchanges)...)
				last = entry
			}
		}
		value, err := r.entryValue(entry)
		if err != nil {
			return spec, err
		}
		spec.ReportEntries[i].Value = value
	}
	if len(tokens) > 0 && !decoded {
		spec.ReportEntries = append(spec.ReportEntries, jwtEntry(tokens[:min(len(tokens), maxJWTsPerSpec)], last))
	}
	return spec, nil
}

func (r ginkgoRedaction) failure(f types.Failure) types.Failure {
	f.Message = r.String(f.Message)
	f.Location.FullStackTrace = withoutArguments(r.String(f.Location.FullStackTrace))
	f.ForwardedPanic = r.String(f.ForwardedPanic)
	f.ProgressReport = r.progressReport(f.ProgressReport)
	if f.AdditionalFailure != nil {
		af := *f.AdditionalFailure
		af.Failure = r.failure(af.Failure)
		f.AdditionalFailure = &af
	}
	return f
}

func (r ginkgoRedaction) progressReport(p types.ProgressReport) types.ProgressReport {
	p.Message = r.String(p.Message)
	p.CapturedGinkgoWriterOutput = r.String(p.CapturedGinkgoWriterOutput)
	p.AdditionalReports = redactAll(r, p.AdditionalReports)
	return p
}

// entryValue redacts one report entry's value. Exchanges are redacted field
// by field; other values as JSON text. The result is built through
// ReportEntryValue's own JSON decoding, the only way to set its value from
// outside Ginkgo.
func (r ginkgoRedaction) entryValue(entry types.ReportEntry) (types.ReportEntryValue, error) {
	asJSON := entry.Value.AsJSON
	if asJSON == "" && entry.GetRawValue() != nil {
		raw, err := json.Marshal(entry.GetRawValue())
		if err != nil {
			return types.ReportEntryValue{}, fmt.Errorf("entry %q cannot be encoded: %w", entry.Name, err)
		}
		asJSON = string(raw)
	}
	representation := entry.Value.String()
	if entry.Name == EntryExchange {
		if exchanges, err := exchangesOf(entry); err == nil {
			redacted := make([]trace.Exchange, len(exchanges))
			for i, e := range exchanges {
				redacted[i] = r.Exchange(e)
			}
			var raw []byte
			if len(redacted) == 1 && asJSON != "" && asJSON[0] == '{' {
				raw, err = json.Marshal(redacted[0])
			} else {
				raw, err = json.Marshal(redacted)
			}
			if err != nil {
				return types.ReportEntryValue{}, err
			}
			asJSON = string(raw)
			representation = asJSON
		}
	}
	if asJSON == "" {
		asJSON = "null"
	}
	redactedJSON := r.String(asJSON)
	if !json.Valid([]byte(redactedJSON)) {
		// Redaction cut through JSON syntax (a secret holding a quote, say):
		// keep the redacted text as a JSON string instead.
		quoted, err := json.Marshal(redactedJSON)
		if err != nil {
			return types.ReportEntryValue{}, err
		}
		redactedJSON = string(quoted)
	}
	wire, err := json.Marshal(struct{ AsJSON, Representation string }{redactedJSON, r.String(representation)})
	if err != nil {
		return types.ReportEntryValue{}, err
	}
	var value types.ReportEntryValue
	if err := value.UnmarshalJSON(wire); err != nil {
		return types.ReportEntryValue{}, fmt.Errorf("entry %q: %w", entry.Name, err)
	}
	return value, nil
}

func redactAll(r ginkgoRedaction, list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = r.String(s)
	}
	return out
}

// stackArguments is the argument list of a call in a Go stack trace:
// "suites.(*env).idToken(0xc0001, {0x119a8e8?, ...})". Those are raw words
// of memory (addresses, lengths, at times a secret's bytes), of use to no
// reader of a report.
var stackArguments = regexp.MustCompile(`(?m)\((?:0x|\{|\.\.\.)[^\n]*\)$`)

// withoutArguments keeps a stack trace's calls and lines, not their
// arguments.
func withoutArguments(trace string) string {
	return stackArguments.ReplaceAllString(trace, "(...)")
}
