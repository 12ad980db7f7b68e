// Package catalog is the check catalogue: every check's ID, area, what is sent
// and expected, its sources, the mock's defects that must make it fail and the
// example application's bug switches it must catch. catalog.go is generated from
// catalog/CHECKS.md; the suites label their specs from it, the mutation matrix
// reads it and reports print it. It imports nothing of grantbench.
//
//go:generate go run ./internal/gencatalog -in CHECKS.md -out catalog.go
package catalog

import "strings"

// Check is one row of the check catalogue (catalog/CHECKS.md).
type Check struct {
	ID         string // "AC2"
	Area       string // "authcode", "redirect", ... (the label suites use)
	Sent       string // what the check sends or inspects
	Expect     string // what must happen
	SourceText string // the source cell as written in the catalogue
	Sources    []Source
	Defects    []string // mock-provider defect modes that make it fail
	Bugs       []string // example-app bug switches that make a P check fail
}

// Source is one reference a check cites.
type Source struct {
	Text string // "RFC 6749 4.1.2"
	Key  string // "rfc6749", "oidc", "oidf" (conformance-suite module), "oauch"
	URL  string // link to the section; "" when there is none
}

// area describes one area of the catalogue, in the order reports show them.
type area struct {
	Name, Title string
}

// areas lists the catalogue's areas in document order. It is a function, not
// a package variable, so nothing can change it.
func areas() []area {
	return []area{
		{"authcode", "Authorization code and PKCE"},
		{"redirect", "Redirect URI, state, mix-up"},
		{"client", "Client credentials and client authentication"},
		{"refresh", "Refresh tokens"},
		{"device", "Device authorization grant"},
		{"legacy", "Legacy grants (implicit, password)"},
		{"token", "Token validation"},
		{"expiry", "Expiry and lifecycle"},
		{"metadata", "Metadata and JWKS"},
		{"introspection", "Introspection"},
		{"revocation", "Revocation"},
		{"rp", "Client application (RP)"},
	}
}

// AreaTitle returns the heading of an area label, or the label itself when it
// is not one of the catalogue's.
func AreaTitle(name string) string {
	switch name {
	case "suite":
		return "Suite setup"
	case "other":
		return "Other checks"
	}
	for _, a := range areas() {
		if a.Name == name {
			return a.Title
		}
	}
	return name
}

// IsArea reports whether a label names one of the catalogue's areas.
func IsArea(name string) bool {
	for _, a := range areas() {
		if a.Name == name {
			return true
		}
	}
	return false
}

// AreaRank orders areas as the catalogue does; failed suite setup comes
// first, since nothing after it means much, and unknown areas last.
func AreaRank(name string) int {
	if name == "suite" {
		return -1
	}
	for i, a := range areas() {
		if a.Name == name {
			return i
		}
	}
	return len(areas())
}

// Lookup returns the catalogue row of a check ID such as "AC2".
func Lookup(id string) (Check, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	for _, c := range All() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// CompareIDs orders check IDs by prefix, then number: AC2 before AC10.
// It suits slices.SortFunc.
func CompareIDs(a, b string) int {
	pa, na := splitID(a)
	pb, nb := splitID(b)
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	if na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

func splitID(id string) (string, int) {
	i := strings.IndexFunc(id, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return id, 0
	}
	n := 0
	for _, r := range id[i:] {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return id[:i], n
}
