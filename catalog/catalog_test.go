package catalog

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/grantbench/grantbench/catalog/internal/checksmd"
)

func TestCatalogIsWellFormed(t *testing.T) {
	checks := All()
	if len(checks) < 50 {
		t.Fatalf("catalogue has only %d checks", len(checks))
	}
	idShape := regexp.MustCompile(`^[A-Z]+[0-9]+$`)
	seen := map[string]bool{}
	for _, c := range checks {
		if !idShape.MatchString(c.ID) {
			t.Errorf("malformed ID %q", c.ID)
		}
		if seen[c.ID] {
			t.Errorf("ID %s appears twice", c.ID)
		}
		seen[c.ID] = true
		if len(c.Sources) == 0 || c.SourceText == "" {
			t.Errorf("%s has no source", c.ID)
		}
		if !IsArea(c.Area) || c.Area != checksmd.AreaOf(c.ID) {
			t.Errorf("%s has area %q", c.ID, c.Area)
		}
		for _, s := range c.Sources {
			if s.Key == "" || s.Text == "" {
				t.Errorf("%s has an incomplete source %+v", c.ID, s)
			}
		}
	}
	for _, id := range []string{"AC1", "B8", "C9", "R6", "D6", "L3", "T7", "E3", "M2", "I2", "V2", "P7"} {
		if !seen[id] {
			t.Errorf("catalogue lacks %s", id)
		}
	}
	ac2, ok := Lookup("ac2")
	if !ok || ac2.Sources[0].URL != "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2" {
		t.Errorf("Lookup(ac2) = %+v, %v", ac2, ok)
	}
	if _, ok := Lookup("ZZ9"); ok {
		t.Error("Lookup found an ID that does not exist")
	}
}

// TestCatalogMatchesShared fails when shared/CHECKS.md changed and catalog.go
// was not regenerated (`go generate ./catalog`). It skips where shared/ is
// not beside the repository.
func TestCatalogMatchesShared(t *testing.T) {
	f, err := os.Open("../../shared/CHECKS.md")
	if err != nil {
		t.Skipf("shared/CHECKS.md not beside the repository: %v", err)
	}
	defer f.Close()
	checks, err := checksmd.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := checksmd.GoSource(checks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("catalog.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("catalog.go is out of date with shared/CHECKS.md: run `go generate ./catalog`")
	}
}
