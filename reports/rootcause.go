package reports

import (
	"slices"
	"strings"

	"github.com/grantbench/grantbench/catalog"
)

// RootCause is a set of failed checks that share one cause: one defect of
// the provider often breaks a row of checks (an unsigned token fails T1 to
// T6), and a reader should see the one problem, not six.
type RootCause struct {
	// Cause is the error the checks share (the innermost part of their
	// failure messages).
	Cause string
	// Defects are the switched-on defects of the bundled mock that the
	// catalogue names for any of the checks (or the only one switched on).
	Defects []string
	Checks  []CheckResult
}

// minCauseLength: a shared message tail shorter than this ("200", "false")
// says too little to join checks on.
const minCauseLength = 20

// causeOf is the part of a failure message that names what went wrong, not
// which step of the check it was: the text after the first ": " (the
// suites write "what was checked: the error"), when that is long enough to
// mean something, else the whole message on one line.
func causeOf(message string) string {
	line := strings.Join(strings.Fields(message), " ")
	if i := strings.Index(line, ": "); i >= 0 && len(line)-i-2 >= minCauseLength {
		return line[i+2:]
	}
	return line
}

// RootCauses groups the failed checks that share a cause: the same error
// (causeOf), or a defect switched on in the run that the catalogue lists for
// each of them, or the one defect switched on. Groups of one are left out; a
// check is in at most one group.
func (c *Conformance) RootCauses() []RootCause {
	var on []string
	for _, run := range c.Runs {
		for _, d := range run.Defects {
			// "CLIENT:NAME" switches NAME on for one client.
			if i := strings.LastIndex(d, ":"); i >= 0 {
				d = d[i+1:]
			}
			if !slices.Contains(on, d) {
				on = append(on, d)
			}
		}
	}
	var failed []int
	for i, cr := range c.Checks {
		if cr.Verdict == VerdictFailed && cr.ID != "" {
			failed = append(failed, i)
		}
	}
	// Union-find over the failed checks: joined by cause and by defect.
	parent := make([]int, len(failed))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) { parent[find(a)] = find(b) }
	byCause := map[string]int{}
	byDefect := map[string]int{}
	defectsOf := make([][]string, len(failed))
	for k, i := range failed {
		cr := c.Checks[i]
		cause := causeOf(cr.Message)
		if j, ok := byCause[cause]; ok && cause != "" {
			union(k, j)
		} else {
			byCause[cause] = k
		}
		if check, ok := catalog.Lookup(cr.ID); ok {
			for _, d := range check.Defects {
				if !slices.Contains(on, d) {
					continue
				}
				defectsOf[k] = append(defectsOf[k], d)
				if j, ok := byDefect[d]; ok {
					union(k, j)
				} else {
					byDefect[d] = k
				}
			}
		}
	}
	// With one defect switched on in the bundled mock, which passes every
	// check without one, that defect is the cause of every failure, however
	// differently the checks put it.
	if len(on) == 1 {
		for k := range failed {
			union(k, 0)
			if !slices.Contains(defectsOf[k], on[0]) {
				defectsOf[k] = append(defectsOf[k], on[0])
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for k := range failed {
		r := find(k)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], k)
	}
	var out []RootCause
	for _, r := range roots {
		members := groups[r]
		if len(members) < 2 {
			continue
		}
		var rc RootCause
		causes := map[string]int{}
		for _, k := range members {
			cr := c.Checks[failed[k]]
			rc.Checks = append(rc.Checks, cr)
			causes[causeOf(cr.Message)]++
			for _, d := range defectsOf[k] {
				if !slices.Contains(rc.Defects, d) {
					rc.Defects = append(rc.Defects, d)
				}
			}
		}
		// The cause most of the checks share; ties go to the first.
		for _, k := range members {
			cause := causeOf(c.Checks[failed[k]].Message)
			if rc.Cause == "" || causes[cause] > causes[rc.Cause] {
				rc.Cause = cause
			}
		}
		out = append(out, rc)
	}
	return out
}
