package suites

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega/format"
)

// Failure messages are read by people in the console, in JUnit's message
// attribute and in the reports. Gomega formats an error as its Go type and
// address followed by a dump of its fields:
//
//	Unexpected error:
//	    <*fmt.wrapError | 0x21482ceabd60>:
//	    jwt: header: unexpected signature algorithm "none"
//	    {msg: "...", err: <*jose.ErrUnexpectedSignatureAlgorithm | 0x...>{...}}
//	occurred
//
// The specs' failure handler turns that into one sentence,
// "JWT access token signature: jwt: header: unexpected signature algorithm
// "none"", and every value Gomega prints loses its address.

var registerFormatting sync.Once

// failureHandler is the fail handler the suites register with Gomega in
// place of ginkgo.Fail: the same failure, its message cleaned by
// readableFailure.
func failureHandler() func(message string, callerSkip ...int) {
	registerFormatting.Do(func() {
		// An error nested in a value Gomega prints shows as its text rather
		// than a dump of its unexported fields.
		format.RegisterCustomFormatter(func(value any) (string, bool) {
			if err, ok := value.(error); ok {
				return err.Error(), true
			}
			return "", false
		})
	})
	return func(message string, callerSkip ...int) {
		skip := 1
		if len(callerSkip) > 0 {
			skip += callerSkip[0]
		}
		ginkgo.Fail(readableFailure(message), skip)
	}
}

var (
	// typeAndAddress is Gomega's "<*pkg.Type | 0xc000123456>" (or
	// "<[]int | len:3, cap:3>") before a value, and the ": " after it.
	typeAndAddress = regexp.MustCompile(`<[^<>\n]*? \| (?:0x[0-9a-f]+|len:\d+(?:, cap:\d+)?)>(?:: ?)?`)
	// bareAddress is an address printed any other way (%p, a uintptr).
	bareAddress = regexp.MustCompile(`\b0x[0-9a-f]{8,}\b`)
	// unexpectedError is HaveOccurred's failure: an optional description,
	// then the error's lines indented between "Unexpected error:" and
	// "occurred".
	unexpectedError = regexp.MustCompile(`(?s)^(.*?)\n?Unexpected error:\n(.*)\noccurred\s*$`)
)

// readableFailure rewrites a Gomega failure message for people: no Go types
// with addresses, no blank or repeated lines, and an unexpected error said
// in one line after the spec's description of what failed.
func readableFailure(message string) string {
	message = typeAndAddress.ReplaceAllString(message, "")
	message = bareAddress.ReplaceAllString(message, "(address)")
	var lines []string
	for _, line := range strings.Split(message, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) == strings.TrimSpace(line) {
			continue // the error's text, printed once as text and once as its value
		}
		lines = append(lines, line)
	}
	message = strings.Join(lines, "\n")
	if m := unexpectedError.FindStringSubmatch(message); m != nil {
		var parts []string
		for _, line := range strings.Split(m[2], "\n") {
			parts = append(parts, strings.TrimSpace(line))
		}
		// A multi-line error comes twice: as its text and as its value.
		if n := len(parts); n%2 == 0 && slices.Equal(parts[:n/2], parts[n/2:]) {
			parts = parts[:n/2]
		}
		what := strings.TrimSpace(m[1])
		if what == "" {
			what = "unexpected error"
		}
		message = what + ": " + strings.Join(parts, " ")
	}
	return message
}
