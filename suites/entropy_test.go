package suites

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func randomSamples(n, size int, encode func([]byte) string) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, size)
		rand.Read(b)
		out[i] = encode(b)
	}
	return out
}

// uuidV4 formats 16 random bytes as an RFC 9562 version 4 UUID: 122 random bits.
func uuidV4(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestEstimateEntropy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		samples  []string
		min, max float64
		alphabet string
		repeated bool
	}{
		// 32 random bytes in base64url: 43 characters of 6 bits; a position may
		// agree across three samples by chance, so allow a few characters less.
		{"256-bit base64url", randomSamples(3, 32, base64.RawURLEncoding.EncodeToString), 230, 258, "base64url", false},
		{"32-bit hex (the weak_tokens defect)", randomSamples(3, 4, hex.EncodeToString), 24, 32, "lowercase hex", false},
		// Dashes and the version digit are fixed: at most 31 hex digits vary.
		{"UUID v4", randomSamples(3, 16, uuidV4), 100, 124, "lowercase hex", false},
		{"fixed prefix is not credited", []string{"tok_xxxx1111", "tok_yyyy2222", "tok_zzzz3333"}, 41, 42, "lowercase alphanumerics", false},
		{"different lengths: common prefix and suffix dropped", []string{"pre-abc-suf", "pre-abcdef-suf", "pre-xy-suf"}, 0, 2 * 6, "", false},
		{"a repeat is reported", []string{"abcdef0123", "abcdef0123", "0123456789"}, 0, 100, "", true},
		{"one sample is judged whole", []string{"0123456789abcdef0123456789abcdef"}, 128, 128, "lowercase hex", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			est := EstimateEntropy(tc.samples)
			if est.Bits < tc.min || est.Bits > tc.max {
				t.Errorf("bits = %.1f (alphabet %s), want %.0f..%.0f", est.Bits, est.Alphabet, tc.min, tc.max)
			}
			if tc.alphabet != "" && est.Alphabet != tc.alphabet {
				t.Errorf("alphabet = %s, want %s", est.Alphabet, tc.alphabet)
			}
			if est.Repeated != tc.repeated {
				t.Errorf("repeated = %v, want %v", est.Repeated, tc.repeated)
			}
		})
	}
	if got := EstimateEntropy(nil); got.Bits != 0 {
		t.Errorf("no samples: %.0f bits, want 0", got.Bits)
	}
}

func TestFramingRefused(t *testing.T) {
	for _, tc := range []struct {
		xfo, csp string
		want     bool
	}{
		{"DENY", "", true},
		{"sameorigin", "", true},
		{"", "default-src 'none'; frame-ancestors 'none'", true},
		{"", "frame-ancestors 'self' https://app.example", true},
		{"", "frame-ancestors *", false},
		{"", "default-src 'none'", false},
		{"ALLOW-FROM https://x.example", "", false},
		{"", "", false},
	} {
		h := map[string][]string{}
		if tc.xfo != "" {
			h["X-Frame-Options"] = []string{tc.xfo}
		}
		if tc.csp != "" {
			h["Content-Security-Policy"] = []string{tc.csp}
		}
		if got := framingRefused(h); got != tc.want {
			t.Errorf("X-Frame-Options %q, CSP %q: framingRefused = %v, want %v", tc.xfo, tc.csp, got, tc.want)
		}
	}
}
