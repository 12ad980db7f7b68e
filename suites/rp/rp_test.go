package rp

import (
	"slices"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/catalog"
)

// TestSourceLabelsMatchTheCatalogue keeps the labels beside the checks in
// step with CHECKS.md (the catalogue the reports read).
func TestSourceLabelsMatchTheCatalogue(t *testing.T) {
	seen := 0
	for _, c := range catalog.All() {
		if c.Area != "rp" {
			continue
		}
		seen++
		var want []string
		for _, s := range c.Sources {
			if s.Key != "" && !slices.Contains(want, s.Key) {
				want = append(want, s.Key)
			}
		}
		if got := sourceKeys[c.ID]; !slices.Equal(got, want) {
			t.Errorf("%s: labels %v, catalogue %v", c.ID, got, want)
		}
	}
	if seen != len(sourceKeys) {
		t.Errorf("catalogue has %d rp checks, the suite labels %d", seen, len(sourceKeys))
	}
}

func TestFreshness(t *testing.T) {
	strong1, strong2 := "HhTzWi_1aVf7zS9ExJJlJjbRgHGfp0VUwSxIXJnJekI", "VyEx9v0FRJwO75f3aGrE4mqa5B7SqSOT6F3InPXmAFw"
	for _, tc := range []struct {
		name          string
		a, b          string
		pkce          bool
		problem, warn string
	}{
		{"fresh and long", strong1, strong2, true, "", ""},
		{"the same twice", strong1, strong1, true, "the same state", ""},
		{"short hex", "0123abcd", "9876fedc", true, "at most ~32 bits", ""},
		{"missing with PKCE", "", "", true, "", "sent no state"},
		{"missing without PKCE", "", strong2, false, "sent no state", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warnings []string
			problems := strings.Join(freshness("state", tc.a, tc.b, tc.pkce, &warnings), "\n")
			if (tc.problem == "") != (problems == "") || !strings.Contains(problems, tc.problem) {
				t.Errorf("problems %q, want %q", problems, tc.problem)
			}
			w := strings.Join(warnings, "\n")
			if (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q, want %q", w, tc.warn)
			}
		})
	}
}
