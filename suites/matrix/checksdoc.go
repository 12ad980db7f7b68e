// Package matrix holds the mutation matrix: the proof that every check of
// catalog/CHECKS.md can fail, and of exactly what each defect of the bundled
// mock breaks. Its test runs `grantbench conform` against the mock over the
// whole catalogue: once per defect mode, with that one defect on, asserting
// that the checks failing are exactly the defect's Breaks and those warning
// exactly its Warns (mockprovider.DefectInfo); once with no defect, where
// every check must pass; and once per fair mock setting (a legitimate
// behaviour), where none may fail. The observed result is committed as
// testdata/matrix.json, from which (with the catalogue and the defects'
// descriptions) docs/checks.md is generated:
//
//	GRANTBENCH_UPDATE=1 go test ./suites/matrix   # rerun the matrix, rewrite matrix.json
//	go generate ./suites/matrix                   # rewrite docs/checks.md
//
// The package's non-test code is that generator's: the result types and the
// page renderer.
package matrix

//go:generate go run ./gen -matrix testdata/matrix.json -out ../../docs/checks.md

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/mockprovider"
)

// Result is what one run of the matrix observed. It holds no timings, so a
// rerun on an unchanged tree gives the same bytes.
type Result struct {
	// Clean is the run with no defect and every check selected.
	Clean CleanRun `json:"clean"`
	// Defects has one entry per defect mode, sorted by name.
	Defects []DefectRun `json:"defects"`
	// Settings has one entry per fair mock setting, sorted by name.
	Settings []SettingRun `json:"settings"`
}

// CleanRun lists the checks by verdict on the mock with no defect.
type CleanRun struct {
	Passed  []string `json:"passed"`
	Warned  []string `json:"warned"`
	Failed  []string `json:"failed"`
	Skipped []string `json:"skipped"`
}

// DefectRun is one defect's run over the whole catalogue.
type DefectRun struct {
	Name string `json:"name"`
	// Checks are the checks CHECKS.md names for the defect.
	Checks []string `json:"checks"`
	// Failed are the checks that failed at their assertion with the defect
	// on: the defect's exact Breaks set.
	Failed []string `json:"failed"`
	// Warned are the checks that passed with a warning: its Warns set.
	Warned []string `json:"warned"`
	// Skipped are the checks that did not run with the defect on.
	Skipped []string `json:"skipped"`
	// Caught is true when every check of Checks failed (for a defect with
	// no Checks, when it raised a warning).
	Caught bool `json:"caught"`
}

// SettingRun is the run of one fair mock setting: no check may fail.
type SettingRun struct {
	Name string `json:"name"`
	// Args are the conform flags that switch it on.
	Args    []string `json:"args"`
	Passed  []string `json:"passed"`
	Warned  []string `json:"warned"`
	Failed  []string `json:"failed"`
	Skipped []string `json:"skipped"`
}

// caught reports whether the run failed every check the defect names; a
// defect that breaks only a SHOULD (no check names it) is caught by the
// warnings it raised.
func (d DefectRun) caught() bool {
	if len(d.Checks) == 0 {
		return len(d.Warned) > 0
	}
	for _, id := range d.Checks {
		if !slices.Contains(d.Failed, id) {
			return false
		}
	}
	return true
}

// Finish sorts every list and sets each defect's Caught, so results compare
// byte for byte.
func (r *Result) Finish() {
	for _, l := range []*[]string{&r.Clean.Passed, &r.Clean.Warned, &r.Clean.Failed, &r.Clean.Skipped} {
		*l = sortedIDs(*l)
	}
	for i := range r.Defects {
		d := &r.Defects[i]
		d.Checks, d.Failed, d.Warned, d.Skipped = sortedIDs(d.Checks), sortedIDs(d.Failed), sortedIDs(d.Warned), sortedIDs(d.Skipped)
		d.Caught = d.caught()
	}
	slices.SortFunc(r.Defects, func(a, b DefectRun) int { return strings.Compare(a.Name, b.Name) })
	if r.Settings == nil {
		r.Settings = []SettingRun{}
	}
	for i := range r.Settings {
		s := &r.Settings[i]
		s.Args = slices.Clone(s.Args)
		s.Passed, s.Warned, s.Failed, s.Skipped = sortedIDs(s.Passed), sortedIDs(s.Warned), sortedIDs(s.Failed), sortedIDs(s.Skipped)
	}
	slices.SortFunc(r.Settings, func(a, b SettingRun) int { return strings.Compare(a.Name, b.Name) })
}

// Marshal is the committed form of a result: indented JSON with a final newline.
func (r Result) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// LoadResult reads a committed matrix result.
func LoadResult(path string) (Result, error) {
	var r Result
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// sortedIDs sorts check IDs the way the catalogue reads (AC2 before AC10) and
// turns nil into an empty list, so JSON shows [] rather than null.
func sortedIDs(ids []string) []string {
	out := sortedCopy(ids)
	if out == nil {
		out = []string{}
	}
	return out
}

func sortedCopy(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortFunc(out, catalog.CompareIDs)
	return out
}

// DefectChecks maps each defect of the catalogue to the checks naming it.
func DefectChecks(catalog []catalog.Check) map[string][]string {
	out := map[string][]string{}
	for _, c := range catalog {
		for _, d := range c.Defects {
			out[d] = append(out[d], c.ID)
		}
	}
	return out
}

// Render writes docs/checks.md: every check of the catalogue with its source,
// its defect modes and whether the matrix caught each, the defects it also
// fails under; then every defect with its exact breaks and warns sets as
// measured, and the fair mock settings. defects gives each defect's
// description (mockprovider.Defects()).
func Render(catalog []catalog.Check, defects []mockprovider.DefectInfo, result Result) []byte {
	runs := map[string]DefectRun{}
	for _, d := range result.Defects {
		runs[d.Name] = d
	}
	cleanPassed := map[string]bool{}
	for _, id := range result.Clean.Passed {
		cleanPassed[id] = true
	}

	var rows bytes.Buffer
	var checks, withDefect, proven, pairs, caughtPairs int
	area := ""
	for _, c := range catalog {
		if c.Area != area {
			area = c.Area
			fmt.Fprintf(&rows, "\n## %s\n\n| ID | what must happen | source | defect | caught | also fails (warns) with |\n|---|---|---|---|---|---|\n", area)
		}
		checks++
		caught := caughtCell(c, runs, cleanPassed)
		if len(c.Defects) > 0 {
			withDefect++
			all := true
			for _, d := range c.Defects {
				pairs++
				if run, ok := runs[d]; ok && slices.Contains(run.Failed, c.ID) {
					caughtPairs++
				} else {
					all = false
				}
			}
			if all {
				proven++
			}
		}
		what := c.Expect
		if what == "" {
			what = "rejects: " + c.Sent
		}
		breaker := defectCell(c.Defects)
		also := "—"
		if c.Area == "rp" {
			// A client-application check is broken by an example app's bug
			// switch, not by a provider defect.
			breaker = "bug " + defectCell(c.Bugs)
			if len(c.Bugs) == 0 {
				breaker = "— (positive)"
			}
			what = c.Sent + " → " + what
		} else {
			also = alsoCell(c, result.Defects)
		}
		fmt.Fprintf(&rows, "| %s | %s | %s | %s | %s | %s |\n", c.ID, cell(what), cell(c.SourceText), breaker, caught, also)
	}

	var out bytes.Buffer
	out.WriteString("<!-- Code generated by suites/matrix/gen from catalog/CHECKS.md, mockprovider/defects.go and suites/matrix/testdata/matrix.json; DO NOT EDIT. -->\n\n")
	out.WriteString("# The checks, and the proof that each can fail\n\n")
	out.WriteString("Every check grantbench ships (catalog/CHECKS.md), with the defect modes of the bundled mock\n")
	out.WriteString("provider that violate it, and whether the mutation matrix caught each. The matrix runs the whole\n")
	out.WriteString("provider catalogue once per defect (`grantbench conform --defect NAME`) and asserts that the checks\n")
	out.WriteString("failing at their assertion are exactly the defect's *breaks* set and those passing with a warning\n")
	out.WriteString("exactly its *warns* set (both in `mockprovider/defects.go`, listed by\n")
	out.WriteString("`grantbench provider --list-defects` and in [the defects table](#defects-what-each-breaks)); a\n")
	out.WriteString("panic, a timeout or a browser that did not start is a broken run, never a catch.\n")
	out.WriteString("\"no defect, passes clean\" marks positive checks, which have no defect mode; the matrix's clean run\n")
	out.WriteString("(no defect, every check) must pass them all, and so must each [fair mock setting](#fair-mock-settings).\n")
	out.WriteString("Client-side (`rp`) checks judge the client application, not the provider, so the matrix does not\n")
	out.WriteString("run them.\n\n")
	fmt.Fprintf(&out, "%d checks; %d with a defect mode, %d of them proven able to fail (every defect caught); %d of %d check-defect pairs caught. Clean run: %d passed, %d warned, %d failed, %d skipped.\n\n",
		checks, withDefect, proven, caughtPairs, pairs, len(result.Clean.Passed), len(result.Clean.Warned), len(result.Clean.Failed), len(result.Clean.Skipped))
	out.WriteString("Regenerate: `GRANTBENCH_UPDATE=1 go test ./suites/matrix` (reruns the matrix, rewrites\n")
	out.WriteString("suites/matrix/testdata/matrix.json), then `go generate ./suites/matrix` (rewrites this page).\n")
	out.Write(rows.Bytes())

	out.WriteString("\n## Defects: what each breaks\n\n")
	out.WriteString("Each defect's run over the whole catalogue: the checks CHECKS.md names for it, every check that failed\n")
	out.WriteString("(the exact *breaks* set the matrix asserts), the checks that passed with a warning (*warns*) and\n")
	out.WriteString("those that could not run.\n\n")
	out.WriteString("| defect | what the provider does wrong | CHECKS.md names | breaks | warns | skipped |\n|---|---|---|---|---|---|\n")
	does := map[string]mockprovider.DefectInfo{}
	for _, d := range defects {
		does[d.Name] = d
	}
	for _, run := range result.Defects {
		info := does[run.Name]
		what := info.Does
		if info.ProviderOnly {
			what += " (whole provider only)"
		}
		fmt.Fprintf(&out, "| `%s` | %s | %s | %s | %s | %s |\n", run.Name, cell(what), idsCell(run.Checks), idsCell(run.Failed), idsCell(run.Warned), idsCell(run.Skipped))
	}

	out.WriteString("\n## Fair mock settings\n\n")
	out.WriteString("Legitimate provider behaviours the bundled mock can be configured for; with each, the whole\n")
	out.WriteString("catalogue must fail nothing (the checks listed under warns may pass with a warning).\n\n")
	if len(result.Settings) == 0 {
		out.WriteString("None yet.\n")
		return out.Bytes()
	}
	out.WriteString("| setting | conform flags | passed | warns | skipped |\n|---|---|---|---|---|\n")
	for _, s := range result.Settings {
		fmt.Fprintf(&out, "| %s | `%s` | %d | %s | %s |\n", s.Name, cell(strings.Join(s.Args, " ")), len(s.Passed), idsCell(s.Warned), idsCell(s.Skipped))
	}
	return out.Bytes()
}

// caughtCell says, for one check, whether each of its defects was caught.
func caughtCell(c catalog.Check, runs map[string]DefectRun, cleanPassed map[string]bool) string {
	if c.Area == "rp" {
		return "— (client-side check, not run by the provider matrix)"
	}
	if len(c.Defects) == 0 {
		if cleanPassed[c.ID] {
			return "no defect, passes clean"
		}
		return "no defect, **not passing clean**"
	}
	parts := make([]string, 0, len(c.Defects))
	for _, d := range c.Defects {
		run, ok := runs[d]
		switch {
		case !ok:
			parts = append(parts, "`"+d+"` **not run**")
		case slices.Contains(run.Failed, c.ID):
			parts = append(parts, "`"+d+"` yes")
		default:
			parts = append(parts, "`"+d+"` **no**")
		}
	}
	return strings.Join(parts, ", ")
}

// alsoCell lists the defects CHECKS.md does not name for a check that still
// fail it, and (in parentheses) those it warns under.
func alsoCell(c catalog.Check, runs []DefectRun) string {
	var fails, warns []string
	for _, run := range runs {
		switch {
		case slices.Contains(c.Defects, run.Name):
		case slices.Contains(run.Failed, c.ID):
			fails = append(fails, "`"+run.Name+"`")
		}
		if slices.Contains(run.Warned, c.ID) {
			warns = append(warns, "`"+run.Name+"`")
		}
	}
	out := strings.Join(fails, ", ")
	if len(warns) > 0 {
		out = strings.TrimSpace(out + " (warns: " + strings.Join(warns, ", ") + ")")
	}
	if out == "" {
		return "—"
	}
	return out
}

// idsCell writes check IDs for a table cell, "—" for none.
func idsCell(ids []string) string {
	if len(ids) == 0 {
		return "—"
	}
	return strings.Join(ids, ", ")
}

func defectCell(defects []string) string {
	if len(defects) == 0 {
		return "—"
	}
	parts := make([]string, len(defects))
	for i, d := range defects {
		parts[i] = "`" + d + "`"
	}
	return strings.Join(parts, ", ")
}

// cell keeps a catalogue text inside its table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
