// Package matrix holds the mutation matrix: the proof that every check of
// catalog/CHECKS.md can fail. Its test runs `grantbench conform` against the
// bundled mock once per defect mode, with only that defect on and only the
// checks naming it selected, and asserts that exactly those checks fail; and
// once with no defect, where every check must pass. The observed result is
// committed as testdata/matrix.json, from which (with the catalogue)
// docs/checks.md is generated:
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
)

// Result is what one run of the matrix observed. It holds no timings, so a
// rerun on an unchanged tree gives the same bytes.
type Result struct {
	// Clean is the run with no defect and every check selected.
	Clean CleanRun `json:"clean"`
	// Defects has one entry per defect mode, sorted by name.
	Defects []DefectRun `json:"defects"`
}

// CleanRun lists the checks by verdict on the mock with no defect.
type CleanRun struct {
	Passed  []string `json:"passed"`
	Failed  []string `json:"failed"`
	Skipped []string `json:"skipped"`
}

// DefectRun is one defect's run.
type DefectRun struct {
	Name string `json:"name"`
	// Checks are the checks CHECKS.md names for the defect: the ones selected.
	Checks []string `json:"checks"`
	// Failed are the checks that failed with the defect on.
	Failed []string `json:"failed"`
	// Caught is true when every check of Checks failed and no other did.
	Caught bool `json:"caught"`
}

// caughtExactly reports whether the run failed exactly the checks the defect names.
func (d DefectRun) caughtExactly() bool {
	return len(d.Checks) > 0 && slices.Equal(sortedCopy(d.Checks), sortedCopy(d.Failed))
}

// Finish sorts every list and sets each defect's Caught, so results compare
// byte for byte.
func (r *Result) Finish() {
	for _, l := range []*[]string{&r.Clean.Passed, &r.Clean.Failed, &r.Clean.Skipped} {
		*l = sortedIDs(*l)
	}
	for i := range r.Defects {
		d := &r.Defects[i]
		d.Checks, d.Failed = sortedIDs(d.Checks), sortedIDs(d.Failed)
		d.Caught = d.caughtExactly()
	}
	slices.SortFunc(r.Defects, func(a, b DefectRun) int { return strings.Compare(a.Name, b.Name) })
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
// its defect modes and whether the matrix caught each.
func Render(catalog []catalog.Check, result Result) []byte {
	defects := map[string]DefectRun{}
	for _, d := range result.Defects {
		defects[d.Name] = d
	}
	cleanPassed := map[string]bool{}
	for _, id := range result.Clean.Passed {
		cleanPassed[id] = true
	}

	var rows bytes.Buffer
	var checks, withDefect, proven, defectCount, caughtCount int
	area := ""
	for _, c := range catalog {
		if c.Area != area {
			area = c.Area
			fmt.Fprintf(&rows, "\n## %s\n\n| ID | what must happen | source | defect | caught |\n|---|---|---|---|---|\n", area)
		}
		checks++
		caught := caughtCell(c, defects, cleanPassed)
		if len(c.Defects) > 0 {
			withDefect++
			all := true
			for _, d := range c.Defects {
				defectCount++
				if run, ok := defects[d]; ok && run.Caught && slices.Contains(run.Failed, c.ID) {
					caughtCount++
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
		if c.Area == "rp" {
			// A client-application check is broken by an example app's bug
			// switch, not by a provider defect.
			breaker = "bug " + defectCell(c.Bugs)
			if len(c.Bugs) == 0 {
				breaker = "— (positive)"
			}
			what = c.Sent + " → " + what
		}
		fmt.Fprintf(&rows, "| %s | %s | %s | %s | %s |\n", c.ID, cell(what), cell(c.SourceText), breaker, caught)
	}

	var out bytes.Buffer
	out.WriteString("<!-- Code generated by suites/matrix/gen from catalog/CHECKS.md and suites/matrix/testdata/matrix.json; DO NOT EDIT. -->\n\n")
	out.WriteString("# The checks, and the proof that each can fail\n\n")
	out.WriteString("Every check grantbench ships (catalog/CHECKS.md), with the defect modes of the bundled mock\n")
	out.WriteString("provider that violate it, and whether the mutation matrix caught each: with that one defect\n")
	out.WriteString("switched on, `grantbench conform --defect NAME` must fail exactly the checks naming it.\n")
	out.WriteString("\"no defect, passes clean\" marks positive checks, which have no defect mode; the matrix's clean run\n")
	out.WriteString("(no defect, every check) must pass them all. Client-side (`rp`) checks judge the client\n")
	out.WriteString("application, not the provider, so the matrix does not run them.\n\n")
	fmt.Fprintf(&out, "%d checks; %d with a defect mode, %d of them proven able to fail (every defect caught); %d of %d check-defect pairs caught. Clean run: %d passed, %d failed, %d skipped.\n\n",
		checks, withDefect, proven, caughtCount, defectCount, len(result.Clean.Passed), len(result.Clean.Failed), len(result.Clean.Skipped))
	out.WriteString("Regenerate: `GRANTBENCH_UPDATE=1 go test ./suites/matrix` (reruns the matrix, rewrites\n")
	out.WriteString("suites/matrix/testdata/matrix.json), then `go generate ./suites/matrix` (rewrites this page).\n")
	out.Write(rows.Bytes())
	return out.Bytes()
}

// caughtCell says, for one check, whether each of its defects was caught.
func caughtCell(c catalog.Check, defects map[string]DefectRun, cleanPassed map[string]bool) string {
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
		run, ok := defects[d]
		switch {
		case !ok:
			parts = append(parts, "`"+d+"` **not run**")
		case run.Caught && slices.Contains(run.Failed, c.ID):
			parts = append(parts, "`"+d+"` yes")
		default:
			parts = append(parts, "`"+d+"` **no**")
		}
	}
	return strings.Join(parts, ", ")
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
