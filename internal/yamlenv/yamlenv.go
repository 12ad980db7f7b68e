// Package yamlenv expands ${VAR} references in a parsed YAML document, for
// the two profile formats a user writes (target profiles in flows, application
// profiles in rpapp), so both read the environment by the same rules.
package yamlenv

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ref matches $$ (a literal $), ${VAR} and ${VAR:-default}.
var ref = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// MissingError names the field whose value refers to an unset variable.
type MissingError struct {
	Field    string // dotted path of the field, e.g. "clients.confidential.client_secret"
	Variable string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("environment variable %s is not set", e.Variable)
}

// Expand replaces the references in every scalar under n. path is the dotted
// field path of n ("" for the document). An expanded value is data, never YAML
// syntax: it is never parsed as YAML (a value "[a, b]" stays that string). A
// plain (unquoted) scalar is then typed as YAML types what a user could have
// typed there, so "${FLAG}" giving "true" fills a boolean field and "${PORT}"
// giving "8080" a number field (and still a string field, as "8080"); a value
// YAML would read as null ("", "~", "null") stays a string, so an empty or
// literal "null" secret is never dropped. A quoted scalar stays a string.
func Expand(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if err := Expand(c, p); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if err := Expand(n.Content[i+1], p); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return nil
		}
		var missing string
		n.Value = ref.ReplaceAllStringFunc(n.Value, func(r string) string {
			if r == "$$" {
				return "$"
			}
			m := ref.FindStringSubmatch(r)
			if v, ok := os.LookupEnv(m[1]); ok {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			if missing == "" {
				missing = m[1]
			}
			return ""
		})
		if missing != "" {
			return &MissingError{Field: path, Variable: missing}
		}
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
		tagged := n.Style&yaml.TaggedStyle != 0
		switch {
		case tagged && n.Tag != "!!str" && n.Tag != "!":
			// An explicit tag (!!int ${N}) says how to read the value.
		case quoted || tagged || readsAsNull(n.Value):
			n.Tag = "!!str"
			n.Style = yaml.DoubleQuotedStyle
		default:
			// No tag: the decoder resolves the value as it would a plain
			// scalar of the document (bool, int, float, or string).
			n.Tag = ""
			n.Style = 0
		}
	}
	return nil
}

// readsAsNull reports whether a plain scalar with this value would be YAML's
// null (YAML 1.2 core schema, as go.yaml.in/yaml/v3 resolves it).
func readsAsNull(v string) bool {
	switch v {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}
