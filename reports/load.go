package reports

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/grantbench/grantbench/loadresult"
)

// Kind is what a saved result file holds.
type Kind int

// Result file kinds, told apart by content rather than name.
const (
	KindUnknown     Kind = iota
	KindConformance      // a Ginkgo JSON report: results.json
	KindLoad             // a loadresult.Result: load.json
)

func (k Kind) String() string {
	switch k {
	case KindConformance:
		return "conformance results (Ginkgo JSON report)"
	case KindLoad:
		return "load results"
	}
	return "unknown"
}

// DetectKind tells a conformance results file from a load results file by
// its content: a Ginkgo report is a list of suite reports (or one) with
// SuiteDescription and SpecReports; a load result is an object with a
// schema number and scenarios.
func DetectKind(data []byte) (Kind, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return KindUnknown, errors.New("reports: empty file")
	}
	var probe struct {
		Schema           *int            `json:"schema"`
		Scenarios        json.RawMessage `json:"scenarios"`
		SuiteDescription *string
		SpecReports      json.RawMessage
	}
	switch data[0] {
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			return KindUnknown, fmt.Errorf("reports: not JSON: %w", err)
		}
		if len(list) == 0 {
			return KindUnknown, errors.New("reports: an empty list ([]): neither suite reports nor a load result")
		}
		if err := json.Unmarshal(list[0], &probe); err != nil {
			return KindUnknown, fmt.Errorf("reports: not a Ginkgo report: %w", err)
		}
		if probe.SuiteDescription != nil || probe.SpecReports != nil {
			return KindConformance, nil
		}
	case '{':
		if err := json.Unmarshal(data, &probe); err != nil {
			return KindUnknown, fmt.Errorf("reports: not JSON: %w", err)
		}
		switch {
		case probe.Schema != nil && probe.Scenarios != nil:
			return KindLoad, nil
		case probe.SuiteDescription != nil || probe.SpecReports != nil:
			return KindConformance, nil
		}
	default:
		return KindUnknown, errors.New("reports: not a JSON results file")
	}
	return KindUnknown, errors.New("reports: JSON that is neither a Ginkgo report (results.json) nor a load result (load.json)")
}

// ReadLoad parses a load.json.
func ReadLoad(data []byte) (*loadresult.Result, error) {
	var r loadresult.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reports: parse load result: %w", err)
	}
	if r.Schema < 1 {
		return nil, errors.New("reports: not a grantbench load result (field schema missing)")
	}
	if r.Schema > loadresult.ResultSchema {
		return nil, fmt.Errorf("reports: load result has schema %d, newer than this grantbench reads (%d)", r.Schema, loadresult.ResultSchema)
	}
	if err := checkHistograms(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkHistograms decodes every histogram once, so a damaged load.json is
// refused up front with the field named, not halfway through a chart.
func checkHistograms(r *loadresult.Result) error {
	check := func(where string, h loadresult.Histogram) error {
		if h.HDR == "" {
			return nil
		}
		if _, err := decodeHDR(h.HDR); err != nil {
			return fmt.Errorf("reports: load result: %s: %w", where, err)
		}
		return nil
	}
	for _, sc := range r.Scenarios {
		for name, h := range map[string]loadresult.Histogram{"latency": sc.Latency, "service_time": sc.ServiceTime, "failed_latency": sc.FailedLatency, "schedule_lag": sc.ScheduleLag} {
			if err := check(fmt.Sprintf("scenario %q %s", sc.Name, name), h); err != nil {
				return err
			}
		}
		for _, st := range sc.Steps {
			for name, h := range map[string]loadresult.Histogram{"latency": st.Latency, "service_time": st.ServiceTime, "failed_latency": st.FailedLatency} {
				if err := check(fmt.Sprintf("scenario %q step %q %s", sc.Name, st.Name, name), h); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range r.Series {
		if p.HDR == "" {
			continue
		}
		if _, err := decodeHDR(p.HDR); err != nil {
			return fmt.Errorf("reports: load result: series second %d: %w", p.Second, err)
		}
	}
	return nil
}

// flowErrorRate is the share of finished iterations that did not end "ok",
// interrupted ones left out: the runner's error_rate threshold.
func flowErrorRate(sc loadresult.ScenarioResult) (rate float64, failed, total int64) {
	for outcome, n := range sc.Flows {
		if outcome == loadresult.OutcomeInterrupted {
			continue
		}
		total += n
		if outcome != loadresult.OutcomeOK {
			failed += n
		}
	}
	if total > 0 {
		rate = float64(failed) / float64(total)
	}
	return rate, failed, total
}

// stepErrorRate is the same for one step's requests; device-flow polls that
// are pending are the protocol at work, not errors.
func stepErrorRate(st loadresult.StepResult) (rate float64, failed, total int64) {
	for _, c := range st.Requests {
		if c.Outcome == loadresult.OutcomeInterrupted || c.Outcome == loadresult.OutcomePending {
			continue
		}
		total += c.Count
		if c.Outcome != loadresult.OutcomeOK {
			failed += c.Count
		}
	}
	if total > 0 {
		rate = float64(failed) / float64(total)
	}
	return rate, failed, total
}

// ErrorCount is how many requests failed one way, across all scenarios.
type ErrorCount struct {
	Outcome     string
	StatusClass string
	OAuthError  string
	Count       int64
}

// Label names the error as a person reads it: "invalid_grant (4xx)",
// "timeout", "http_error 5xx".
func (e ErrorCount) Label() string {
	switch {
	case e.OAuthError != "":
		return fmt.Sprintf("%s (%s)", e.OAuthError, e.StatusClass)
	case e.StatusClass != "" && e.StatusClass != "none":
		return e.Outcome + " " + e.StatusClass
	}
	return e.Outcome
}

// ErrorsByCode adds up failed requests by outcome, status class and RFC
// error code, most frequent first.
func ErrorsByCode(r *loadresult.Result) []ErrorCount {
	type key struct{ outcome, class, oauth string }
	sums := map[key]int64{}
	for _, sc := range r.Scenarios {
		for _, st := range sc.Steps {
			for _, c := range st.Requests {
				switch c.Outcome {
				case loadresult.OutcomeOK, loadresult.OutcomePending, loadresult.OutcomeInterrupted:
					continue
				}
				sums[key{c.Outcome, c.StatusClass, c.OAuthError}] += c.Count
			}
		}
	}
	out := make([]ErrorCount, 0, len(sums))
	for k, n := range sums {
		out = append(out, ErrorCount{Outcome: k.outcome, StatusClass: k.class, OAuthError: k.oauth, Count: n})
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Label(), b.Label())
	})
	return out
}

// loadTotals sums a run's finished and failed iterations and its requests.
func loadTotals(r *loadresult.Result) (flowsDone, flowsFailed, dropped int64, achieved, target float64) {
	for _, sc := range r.Scenarios {
		_, failed, total := flowErrorRate(sc)
		flowsDone += total
		flowsFailed += failed
		for _, n := range sc.Dropped {
			dropped += n
		}
		achieved += sc.AchievedRate
		target += sc.TargetRate
	}
	return flowsDone, flowsFailed, dropped, achieved, target
}

// loadFailed reports whether a threshold was breached.
func loadFailed(r *loadresult.Result) bool { return len(r.Failed()) > 0 }

// formatRate prints iterations per second with sensible precision.
func formatRate(v float64) string {
	switch {
	case v == 0:
		return "0/s"
	case v < 10:
		return fmt.Sprintf("%.2f/s", v)
	default:
		return fmt.Sprintf("%.1f/s", v)
	}
}

// formatPercent prints a ratio as a percentage.
func formatPercent(ratio float64) string {
	switch {
	case ratio == 0:
		return "0%"
	case ratio < 0.001:
		return fmt.Sprintf("%.3f%%", ratio*100)
	default:
		return fmt.Sprintf("%.2f%%", ratio*100)
	}
}

// formatSeconds prints a latency the way the runner's thresholds do.
func formatSeconds(s float64) string {
	if s == 0 {
		return "–"
	}
	return loadresult.FormatSeconds(s)
}

// The geometry a histogram in a load result may declare. grantbench writes
// 1 µs to an hour at 2 or 3 significant digits (a few hundred kilobytes of
// counts once decoded); a crafted header for 5 digits up to 2^63 would make
// every decode allocate about 50 MB.
const (
	maxHDRSigFigs       = 3
	maxHDRHighestMicros = int64(1) << 43 // about 100 days
)

// decodeHDR decodes a histogram of a load result after checking the
// geometry its header declares, so a crafted file costs no more to read
// than a real one.
func decodeHDR(encoded string) (*hdrhistogram.Histogram, error) {
	if err := checkHDRGeometry(encoded); err != nil {
		return nil, fmt.Errorf("reports: histogram: %w", err)
	}
	return loadresult.DecodeHDR(encoded)
}

// checkHDRGeometry reads the header of an HdrHistogram V2 compressed
// encoding: an 8-byte envelope (cookie, compressed length), then a zlib
// stream whose first 40 bytes are cookie, payload length, normalizing
// offset, significant digits, lowest, highest and conversion ratio. Only
// that header is inflated; anything malformed is left to the decoder to
// name.
func checkHDRGeometry(encoded string) error {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < 8 {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return nil
	}
	defer zr.Close()
	header := make([]byte, 40)
	if _, err := io.ReadFull(zr, header); err != nil {
		return nil
	}
	sigFigs := int32(binary.BigEndian.Uint32(header[12:16]))
	highest := int64(binary.BigEndian.Uint64(header[24:32]))
	switch {
	case sigFigs < 0 || sigFigs > maxHDRSigFigs:
		return fmt.Errorf("it declares %d significant digits; grantbench writes at most %d", sigFigs, maxHDRSigFigs)
	case highest > maxHDRHighestMicros:
		return fmt.Errorf("it declares values up to %d µs; grantbench records at most %d", highest, maxHDRHighestMicros)
	}
	return nil
}
