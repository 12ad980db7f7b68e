package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/redact"
)

// EntryRun names the report entry that carries a run's RunInfo in
// results.json (see WriteGinkgoResultsWith).
const EntryRun = "grantbench-run"

// RunInfo says what a conformance run judged and how, for the top of every
// report: the target, the grantbench that judged it, the defects switched
// on in the bundled mock, the checks selected and when.
type RunInfo struct {
	Command string   `json:"command,omitempty"` // "conform", "demo", "rp"
	Version string   `json:"version,omitempty"`
	Profile string   `json:"profile,omitempty"` // the target profile's name
	Issuer  string   `json:"issuer,omitempty"`
	Defects []string `json:"defects,omitempty"`
	// MockSettings are the bundled mock's settings changed for the run.
	MockSettings []string  `json:"mock_settings,omitempty"`
	LabelFilter  string    `json:"label_filter,omitempty"`
	Start        time.Time `json:"start,omitzero"`
}

// runSpec is the report node that carries info: a passing ReportBeforeSuite
// node, which NewConformance and JUnit leave out like every setup node that
// worked, and which Ginkgo's own tools read as such.
func runSpec(info RunInfo) types.SpecReport {
	return types.SpecReport{
		LeafNodeType:  types.NodeTypeReportBeforeSuite,
		LeafNodeText:  "grantbench run",
		State:         types.SpecStatePassed,
		StartTime:     info.Start,
		EndTime:       info.Start,
		NumAttempts:   1,
		ReportEntries: types.ReportEntries{{Name: EntryRun, Value: types.WrapEntryValue(info), Time: info.Start}},
	}
}

// runInfoOf reads a suite report's RunInfo: from its EntryRun when the run
// wrote one, else what Ginkgo's report itself says (suite name, label
// filter, start).
func runInfoOf(rep types.Report, r *redact.Redactor) RunInfo {
	info := RunInfo{
		Profile:     strings.TrimPrefix(rep.SuiteDescription, "grantbench conformance: "),
		LabelFilter: rep.SuiteConfig.LabelFilter,
		Start:       rep.StartTime,
	}
	for _, spec := range rep.SpecReports {
		for _, e := range spec.ReportEntries {
			if e.Name != EntryRun {
				continue
			}
			var stored RunInfo
			data := []byte(e.Value.AsJSON)
			if v, ok := e.GetRawValue().(RunInfo); ok {
				stored = v
			} else if json.Unmarshal(data, &stored) != nil {
				continue
			}
			if stored.Start.IsZero() {
				stored.Start = info.Start
			}
			info = stored
		}
	}
	info.Issuer = r.URL(info.Issuer)
	info.Profile = r.String(info.Profile)
	info.LabelFilter = r.String(info.LabelFilter)
	return info
}

// judgedRow is one line of a report's "what was judged" block.
type judgedRow struct{ Name, Value string }

// judged lists what the input's runs judged: target, defects, checks
// selected, the run's date and grantbench version, and the load run's target.
func (in Input) judged() []judgedRow {
	var rows []judgedRow
	add := func(name string, values []string) {
		values = slices.Compact(values)
		if len(values) > 0 {
			rows = append(rows, judgedRow{name, strings.Join(values, "; ")})
		}
	}
	if c := in.Conformance; c != nil {
		var targets, defects, settings, filters, runs []string
		for _, info := range c.Runs {
			t := info.Profile
			if info.Issuer != "" {
				t = fmt.Sprintf("%s (issuer %s)", info.Profile, info.Issuer)
			}
			targets = append(targets, t)
			if len(info.Defects) > 0 {
				defects = append(defects, strings.Join(info.Defects, ", "))
			} else {
				defects = append(defects, "none")
			}
			settings = append(settings, info.MockSettings...)
			if info.LabelFilter != "" {
				filters = append(filters, info.LabelFilter)
			} else {
				filters = append(filters, "all checks (no label filter)")
			}
			runs = append(runs, runLine(info.Command, info.Start, info.Version))
		}
		add("Target", targets)
		add("Defects switched on", defects)
		add("Mock settings changed", settings)
		add("Checks selected", filters)
		add("Conformance run", runs)
	}
	if r := in.Load; r != nil {
		target := redact.URL(r.Target)
		if target == "" {
			target = "not recorded"
		}
		id := r.RunID
		if r.Shard != "" {
			id += " shard " + r.Shard
		}
		add("Load target", []string{target})
		add("Load run", []string{strings.TrimSpace(id + " " + runLine("", r.Start, r.Version))})
	}
	return rows
}

func runLine(command string, start time.Time, version string) string {
	var parts []string
	if command != "" {
		parts = append(parts, "grantbench "+command)
	}
	if !start.IsZero() {
		parts = append(parts, "started "+start.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if version != "" {
		parts = append(parts, "by grantbench "+version)
	}
	return strings.Join(parts, ", ")
}
