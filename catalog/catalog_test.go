package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// TestCatalogMatchesItsSource fails when catalog/CHECKS.md changed and
// catalog.go was not regenerated (`go generate ./catalog`).
func TestCatalogMatchesItsSource(t *testing.T) {
	f, err := os.Open("CHECKS.md")
	if err != nil {
		t.Fatalf("the catalogue's source is part of the repository: %v", err)
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
		t.Error("catalog.go is out of date with catalog/CHECKS.md: run `go generate ./catalog`")
	}
}

// TestCatalogueSourceMatchesShared: the team's working copy of the catalogue
// (shared/CHECKS.md beside the repository, on the developers' machines and in
// CI, read-only) and the one the repository carries must not drift apart. The
// repository's copy is the source and moves on as issues sharpen a check (new
// defects, a refined expectation, new rows), so it may add to a shared row;
// what it must never do is lose one: every shared check stays, in the same
// area, with every defect and bug switch the shared row names. Rows whose text
// moved on are listed in the log. A user's clone has no shared/: the test
// skips there.
func TestCatalogueSourceMatchesShared(t *testing.T) {
	sharedFile, err := os.Open(filepath.Join("..", "..", "shared", "CHECKS.md"))
	if err != nil {
		t.Skipf("no ../shared/CHECKS.md beside the repository (a user's clone has none): %v", err)
	}
	defer sharedFile.Close()
	shared, err := checksmd.Parse(sharedFile)
	if err != nil {
		t.Fatalf("../shared/CHECKS.md: %v", err)
	}
	oursFile, err := os.Open("CHECKS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer oursFile.Close()
	ours, err := checksmd.Parse(oursFile)
	if err != nil {
		t.Fatalf("catalog/CHECKS.md: %v", err)
	}
	byID := map[string]checksmd.Check{}
	for _, c := range ours {
		byID[c.ID] = c
	}
	for _, want := range shared {
		got, ok := byID[want.ID]
		if !ok {
			t.Errorf("%s is in ../shared/CHECKS.md but not in catalog/CHECKS.md", want.ID)
			continue
		}
		if got.Area != want.Area {
			t.Errorf("%s: area %q here, %q in ../shared/CHECKS.md", want.ID, got.Area, want.Area)
		}
		for _, d := range want.Defects {
			if !slices.Contains(got.Defects, d) {
				t.Errorf("%s: ../shared/CHECKS.md names defect %s, catalog/CHECKS.md lost it", want.ID, d)
			}
		}
		for _, b := range want.Bugs {
			if !slices.Contains(got.Bugs, b) {
				t.Errorf("%s: ../shared/CHECKS.md names bug switch %s, catalog/CHECKS.md lost it", want.ID, b)
			}
		}
		if got.Expect != want.Expect || got.Source != want.Source {
			t.Logf("%s moved on from ../shared/CHECKS.md: expects %q (shared: %q), sources %q (shared: %q)", want.ID, got.Expect, want.Expect, got.Source, want.Source)
		}
	}
}
