package reports

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/redact"
)

// NamedLoad is a load result and the file it came from, for messages that
// name the file.
type NamedLoad struct {
	Path   string
	Result *loadresult.Result
}

// MergeLoads checks that the results may be merged (CheckMergeable) and
// merges them with loadresult.Merge.
func MergeLoads(loads []NamedLoad, force bool) (*loadresult.Result, error) {
	if err := CheckMergeable(loads, force); err != nil {
		return nil, err
	}
	results := make([]*loadresult.Result, len(loads))
	for i, l := range loads {
		results[i] = l.Result
	}
	return loadresult.Merge(results...)
}

// CheckMergeable refuses load results whose merge would be wrong: the same
// file twice, or the same run and shard twice (its counts would be added to
// themselves), always; and, unless force is set, runs against different
// targets or of different plans (different scenarios), which merge into
// figures that describe no run. Every error names the files.
func CheckMergeable(loads []NamedLoad, force bool) error {
	if len(loads) == 0 {
		return errors.New("reports: merge: no load results")
	}
	for i, a := range loads {
		if a.Result == nil {
			return fmt.Errorf("reports: merge: %s holds no load result", a.Path)
		}
		for _, b := range loads[:i] {
			if sameFile(a.Path, b.Path) {
				return fmt.Errorf("reports: merge: %s is given twice (as %s): its counts would be added twice", b.Path, a.Path)
			}
			if a.Result.RunID != "" && a.Result.RunID == b.Result.RunID && a.Result.Shard == b.Result.Shard {
				what := "run " + a.Result.RunID
				if a.Result.Shard != "" {
					what += " shard " + a.Result.Shard
				}
				return fmt.Errorf("reports: merge: %s and %s hold the same %s: its counts would be added twice", b.Path, a.Path, what)
			}
		}
	}
	if force {
		return nil
	}
	first := loads[0]
	for _, l := range loads[1:] {
		if l.Result.Target != first.Result.Target {
			return fmt.Errorf("reports: merge: %s ran against %s but %s against %s: different targets (--force merges them anyway)",
				first.Path, describeTarget(first.Result.Target), l.Path, describeTarget(l.Result.Target))
		}
		if a, b := planOf(first.Result), planOf(l.Result); !slices.Equal(a, b) {
			return fmt.Errorf("reports: merge: %s ran scenarios %s but %s ran %s: different plans (--force merges them anyway)",
				first.Path, strings.Join(a, ", "), l.Path, strings.Join(b, ", "))
		}
	}
	return nil
}

// planOf describes a run's plan by its scenarios: name, flow, consent and
// executor (rates and workers differ between shards of one plan).
func planOf(r *loadresult.Result) []string {
	out := make([]string, 0, len(r.Scenarios))
	for _, sc := range r.Scenarios {
		flow := sc.Flow
		if sc.Consent != "" {
			flow += "/" + sc.Consent
		}
		out = append(out, fmt.Sprintf("%s (%s, %s)", sc.Name, flow, sc.Executor))
	}
	slices.Sort(out)
	return out
}

func describeTarget(t string) string {
	if t == "" {
		return "an unnamed target"
	}
	return redact.URL(t)
}

// sameFile reports whether two paths name one file (a link, "./a.json" and
// "a.json").
func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ia, ib)
}
