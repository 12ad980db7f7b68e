// Package checksmd parses the check catalogue (catalog/CHECKS.md) into check rows:
// ID, area, what is sent, what must happen, sources (with links to the RFC
// sections) and defect modes. The catalog package embeds its output as a
// generated Go table, so reading the Markdown happens only at generate time.
package checksmd

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Check is one row of the catalogue.
type Check struct {
	ID      string
	Area    string
	Sent    string
	Expect  string
	Source  string // the source cell as written
	Sources []Source
	Defects []string
	// Bugs are the example applications' bug switches that break a
	// client-application (P) check: the client-side twin of Defects.
	Bugs []string
}

// Source is one reference a check cites: an RFC section, an OpenID spec
// section, a conformance-suite module or an OAuch test.
type Source struct {
	Text string // as written, e.g. "RFC 6749 4.1.2"
	Key  string // the label suites use: "rfc6749", "oidc", "oidf", "oauch"
	URL  string // "" when the source has no public anchor (test-module names)
}

// areaForPrefix maps the letters of a check ID to its area label, "" when
// unknown. The labels are the ones the suites put on their specs.
func areaForPrefix(prefix string) string {
	switch prefix {
	case "AC":
		return "authcode"
	case "B":
		return "redirect"
	case "C":
		return "client"
	case "R":
		return "refresh"
	case "D":
		return "device"
	case "L":
		return "legacy"
	case "T":
		return "token"
	case "E":
		return "expiry"
	case "M":
		return "metadata"
	case "I":
		return "introspection"
	case "V":
		return "revocation"
	case "P":
		return "rp"
	}
	return ""
}

// AreaOf returns the area of a check ID such as "AC2", or "" when the prefix
// is unknown.
func AreaOf(id string) string {
	m := idPattern.FindStringSubmatch(id)
	if m == nil {
		return ""
	}
	return areaForPrefix(m[1])
}

var (
	idPattern      = regexp.MustCompile(`^([A-Z]+)([0-9]+)$`)
	rfcPattern     = regexp.MustCompile(`^RFC\s*([0-9]{3,5})\s*(.*)$`)
	oidcPattern    = regexp.MustCompile(`^(?:OIDC )?Core\s*([0-9][0-9.]*)?(.*)$`)
	sectionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
	defectPattern  = regexp.MustCompile("`([a-z0-9_]+)`")
)

// Parse reads CHECKS.md and returns its rows in document order. It fails on a
// table row whose ID is malformed, unknown in area or repeated, and on a row
// without a source, so a broken catalogue is caught at generate time.
func Parse(r io.Reader) ([]Check, error) {
	var (
		checks  []Check
		header  []string
		seen    = map[string]int{}
		lineNo  int
		scanner = bufio.NewScanner(r)
	)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		lineNo++
		line := strings.TrimSpace(scanner.Text())
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := splitRow(line)
		if header == nil {
			header = lowerAll(cells)
			continue
		}
		if isSeparator(cells) {
			continue
		}
		col := func(name string) string {
			for i, h := range header {
				if h == name && i < len(cells) {
					return cells[i]
				}
			}
			return ""
		}
		id := col("id")
		m := idPattern.FindStringSubmatch(id)
		if m == nil {
			return nil, fmt.Errorf("checksmd: line %d: malformed check ID %q", lineNo, id)
		}
		area := areaForPrefix(m[1])
		if area == "" {
			return nil, fmt.Errorf("checksmd: line %d: check %s has an unknown area prefix %q", lineNo, id, m[1])
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("checksmd: line %d: check %s already defined on line %d", lineNo, id, prev)
		}
		seen[id] = lineNo
		source := col("source")
		sources := ParseSources(source)
		if len(sources) == 0 {
			return nil, fmt.Errorf("checksmd: line %d: check %s has no source", lineNo, id)
		}
		sent := col("what is sent")
		if sent == "" {
			sent = firstNonEmpty(col("what is checked"), col("bad response"))
		}
		expect := firstNonEmpty(col("what must happen"), col("must"))
		checks = append(checks, Check{
			ID: id, Area: area, Sent: sent, Expect: expect,
			Source: source, Sources: sources,
			Defects: codeNames(col("defect")), Bugs: codeNames(col("bug")),
		})
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("checksmd: %w", err)
	}
	if len(checks) == 0 {
		return nil, fmt.Errorf("checksmd: no check rows found")
	}
	return checks, nil
}

// ParseSources splits a source cell ("RFC 6749 4.1, 5.1; oidcc-server") into
// its references. A comma after an RFC number lists more sections of the same
// RFC; each section gets its own link.
func ParseSources(cell string) []Source {
	var out []Source
	for _, part := range strings.Split(cell, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if m := rfcPattern.FindStringSubmatch(part); m != nil {
			num, rest := m[1], strings.TrimSpace(m[2])
			base := "https://www.rfc-editor.org/rfc/rfc" + num
			if rest == "" {
				out = append(out, Source{Text: "RFC " + num, Key: "rfc" + num, URL: base})
				continue
			}
			for _, sec := range strings.Split(rest, ",") {
				sec = strings.TrimSpace(sec)
				s := Source{Text: "RFC " + num + " " + sec, Key: "rfc" + num, URL: base}
				if sectionPattern.MatchString(sec) {
					s.URL = base + "#section-" + sec
				}
				out = append(out, s)
			}
			continue
		}
		if m := oidcPattern.FindStringSubmatch(part); m != nil {
			// "Core 3.1.3.7(2)" is OIDC Core's section 3.1.3.7, item 2: the
			// anchor is the section's.
			s := Source{Text: part, Key: "oidc", URL: "https://openid.net/specs/openid-connect-core-1_0.html"}
			if sec := strings.TrimSuffix(m[1], "."); sectionPattern.MatchString(sec) {
				s.URL += "#rfc.section." + sec
			}
			out = append(out, s)
			continue
		}
		switch {
		case strings.HasPrefix(part, "oidcc-"), strings.HasPrefix(part, "fapi2-"):
			out = append(out, Source{Text: part, Key: "oidf"})
		case strings.HasPrefix(part, "OAuch:"):
			out = append(out, Source{Text: part, Key: "oauch"})
		default:
			out = append(out, Source{Text: part, Key: strings.ToLower(strings.Fields(part)[0])})
		}
	}
	return out
}

// codeNames returns the `code_spans` of a cell: the defect or bug names.
func codeNames(cell string) []string {
	var names []string
	for _, d := range defectPattern.FindAllStringSubmatch(cell, -1) {
		names = append(names, d[1])
	}
	return names
}

func splitRow(line string) []string {
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func lowerAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ToLower(strings.Trim(c, "* "))
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
