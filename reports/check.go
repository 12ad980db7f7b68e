package reports

import "strings"

// Check is one row of the check catalogue (shared/CHECKS.md).
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

// isArea reports whether a label names one of the catalogue's areas.
func isArea(name string) bool {
	for _, a := range areas() {
		if a.Name == name {
			return true
		}
	}
	return false
}

// areaRank orders areas as the catalogue does; failed suite setup comes
// first, since nothing after it means much, and unknown areas last.
func areaRank(name string) int {
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

// LookupCheck returns the catalogue row of a check ID such as "AC2".
func LookupCheck(id string) (Check, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	for _, c := range Catalog() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
