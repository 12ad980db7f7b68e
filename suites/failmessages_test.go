package suites

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/format"
)

// goInternals is what issue 14 found in failure messages: addresses and Go
// error types.
var goInternals = regexp.MustCompile(`\b0x[0-9a-f]{8,}\b|\*fmt\.|\*errors\.|\*jose\.`)

// gomegaFailure returns the message Gomega hands the fail handler when
// Expect(actual).NotTo(HaveOccurred(), description...) fails.
func gomegaFailure(t *testing.T, actual error, description ...any) string {
	t.Helper()
	failureHandler() // registers the formatting, as a run does
	var message string
	g := gomega.NewGomega(func(m string, _ ...int) { message = m })
	g.Expect(actual).NotTo(gomega.HaveOccurred(), description...)
	if message == "" {
		t.Fatal("no failure")
	}
	return message
}

func TestFailureMessagesAreSentences(t *testing.T) {
	signature := fmt.Errorf("jwt: header: %w", &jose.ErrUnexpectedSignatureAlgorithm{Got: "none"})
	for _, tc := range []struct {
		err         error
		description []any
		want        string
	}{
		{signature, []any{"JWT access token signature"}, `JWT access token signature: jwt: header: unexpected signature algorithm "none"; expected []`},
		{errors.New("connection refused"), nil, "unexpected error: connection refused"},
		{fmt.Errorf("token request: %w", errors.Join(errors.New("a"), errors.New("b"))), []any{"token"}, "token: token request: a b"},
	} {
		raw := gomegaFailure(t, tc.err, tc.description...)
		if !goInternals.MatchString(raw) && !strings.Contains(raw, "<") {
			t.Errorf("the raw message has no Go internals to remove, the test proves nothing: %q", raw)
		}
		if got := readableFailure(raw); got != tc.want {
			t.Errorf("readableFailure(%q)\n = %q\nwant %q", raw, got, tc.want)
		}
	}
	// Other matchers keep their shape, without addresses.
	var message string
	g := gomega.NewGomega(func(m string, _ ...int) { message = m })
	type response struct {
		Status int
		Err    error
	}
	g.Expect(&response{Status: 500, Err: signature}).To(gomega.BeNil())
	got := readableFailure(message)
	if goInternals.MatchString(got) || !strings.Contains(got, "Status: 500") || !strings.Contains(got, `unexpected signature algorithm "none"`) {
		t.Errorf("BeNil failure on a struct: %q", got)
	}
	_ = format.Object // the formatter registered above is format's
}
