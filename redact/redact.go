// Package redact shortens each secret to a short prefix and its length, such as
// "eyJhbG…(len 812)": enough to tell two tokens apart in a report, never
// enough to use one. Everything grantbench writes for people (reports, logs,
// progress lines) goes through a Redactor.
//
// A Redactor finds secrets two ways:
//   - by shape and place: JWTs anywhere; Authorization and Cookie header
//     values; the values of sensitive form, query, fragment and JSON fields
//     (access_token, refresh_token, id_token, code, device_code, user_code,
//     client_secret, code_verifier, password, token, ...); URL passwords; long
//     opaque random-looking strings;
//   - by value: secrets registered with Add (a run's client secrets and user
//     passwords), wherever they appear, also URL-encoded;
//   - by a field name registered with AddField (a login page's password
//     input, whatever it is called): that field's value in any form, query,
//     JSON or Go map, however short.
//
// It is a leaf package (standard library and trace only) so that suites, the
// command line and reports redact the same way without importing each other.
package redact

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/grantbench/grantbench/trace"
)

// shortenedMarker separates the kept prefix from the length. Its "…" never
// occurs in a raw secret (those are ASCII or percent-encoded), so a value that
// holds it was already redacted and is left alone: redaction is idempotent.
const shortenedMarker = "…(len "

// minRegisteredSecret is the shortest registered secret matched by value.
// Shorter ones would match inside unrelated words and mangle the report;
// they are still caught by place (password=..., client_secret=...).
const minRegisteredSecret = 4

// Shorten returns the redacted form of one secret: at most six leading bytes
// (fewer for short secrets, so a short password shows at most a quarter of
// itself) and its length in bytes. An empty string stays empty.
func Shorten(secret string) string {
	if secret == "" {
		return ""
	}
	keep := min(6, len(secret)/4)
	for keep > 0 && !utf8.RuneStart(secret[keep]) {
		keep--
	}
	return fmt.Sprintf("%s%s%d)", secret[:keep], shortenedMarker, len(secret))
}

// isShortened reports whether a value was already redacted.
func isShortened(value string) bool { return strings.Contains(value, "…") }

// Redactor shortens secrets in strings, URLs, headers, HTTP exchanges and
// writers. It is safe for concurrent use; secrets may be added while other
// goroutines redact. A nil *Redactor applies the shape rules only.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]string // form as it may appear -> the original secret
	ordered []string          // keys of secrets, longest first
	// fields are field names registered with AddField (lower case), and
	// fieldRules the patterns that find their values (nil: none).
	fields     map[string]bool
	fieldRules *fieldRules
}

// fieldRules find the values of registered field names, as the shape rules
// find those of the built-in sensitive names.
type fieldRules struct{ form, goMap, json *regexp.Regexp }

// New returns a Redactor that also hides the given secrets by value.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers secrets (client secrets, passwords, tokens a run obtained) to
// be hidden wherever they appear, as written or URL-encoded. Secrets shorter
// than four bytes are only hidden where their field name gives them away.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]string{}
	}
	for _, s := range secrets {
		if len(s) < minRegisteredSecret {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if _, ok := r.secrets[form]; !ok {
				r.secrets[form] = s
				r.ordered = append(r.ordered, form)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortStableFunc(r.ordered, func(a, b string) int { return len(b) - len(a) })
}

// AddField registers a form field whose value is a secret wherever the field
// appears, and the value itself as Add does. The HTTP form driver calls it
// for every password input it fills (flows.Target.RegisterSecretsWith): a
// provider may name its password input anything, and a password shorter than
// four bytes is not matched by value, so without the name it would show in
// the recorded login request.
func (r *Redactor) AddField(name, value string) {
	if r == nil {
		return
	}
	r.Add(value)
	name = strings.ToLower(name)
	if name == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fields[name] {
		return
	}
	if r.fields == nil {
		r.fields = map[string]bool{}
	}
	r.fields[name] = true
	var alternatives []string
	for f := range r.fields {
		// As written, and as a form body or query encodes it (pass[1] is
		// sent as pass%5B1%5D).
		for _, form := range []string{f, url.QueryEscape(f)} {
			alternatives = append(alternatives, regexp.QuoteMeta(form))
		}
	}
	slices.Sort(alternatives)
	alternatives = slices.Compact(alternatives)
	names := strings.Join(alternatives, "|")
	r.fieldRules = &fieldRules{
		form:  regexp.MustCompile(`(?i)(^|[?&#;\s"'(\[,{])(` + names + `)=([^&#\s"'<>\\,;)\]}]+)`),
		goMap: regexp.MustCompile(`(?i)(^|[\s\[{,])(` + names + `):\[([^\]\s]+)`),
		json:  regexp.MustCompile(`(?i)("(?:` + names + `)"\s*:\s*")((?:[^"\\]|\\.)*)"`),
	}
}

// replaceFields shortens the values of the fields registered with AddField.
func (r *Redactor) replaceFields(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rules := r.fieldRules
	r.mu.RUnlock()
	if rules == nil {
		return s
	}
	s = rules.json.ReplaceAllStringFunc(s, func(m string) string {
		sub := rules.json.FindStringSubmatch(m)
		return sub[1] + shortenUnlessDone(sub[2]) + `"`
	})
	s = rules.form.ReplaceAllStringFunc(s, func(m string) string {
		sub := rules.form.FindStringSubmatch(m)
		return sub[1] + sub[2] + "=" + shortenUnlessDone(sub[3])
	})
	return rules.goMap.ReplaceAllStringFunc(s, func(m string) string {
		sub := rules.goMap.FindStringSubmatch(m)
		return sub[1] + sub[2] + ":[" + shortenUnlessDone(sub[3])
	})
}

// The shape rules. Values already shortened are skipped by the replacers.
var (
	// A JWT or JWE: base64url JSON header "eyJ..." and two to four more parts.
	jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,4}`)

	// A header-like "Authorization: Bearer xyz", also as Go prints a header
	// map ("Authorization:[Bearer xyz]") or as JSON.
	authHeaderPattern = regexp.MustCompile(`(?i)((?:proxy-)?authorization["']?\s*[:=]\s*\[?["']?)(?:(basic|bearer|dpop|digest|negotiate|mac)\s+)?([^\s"',}\]]+)`)

	// A credential after an auth scheme in free text.
	schemePattern = regexp.MustCompile(`\b(Bearer|Basic|DPoP|bearer|basic)\s+([A-Za-z0-9\-._~+/]{8,}=*)`)

	// Cookie and Set-Cookie headers written as text.
	cookieHeaderPattern = regexp.MustCompile(`(?i)\b((?:set-)?cookie["']?\s*[:=]\s*\[?["']?)([^\r\n\]"]+)`)

	// key=value in a query, fragment or form body, for sensitive keys.
	formFieldPattern = regexp.MustCompile(`(?i)(^|[?&#;\s"'(\[,{])(` + sensitiveFieldNames + `)=([^&#\s"'<>\\,;)\]}]+)`)

	// key:[value] as Go prints url.Values and http.Header maps.
	goMapFieldPattern = regexp.MustCompile(`(?i)(^|[\s\[{,])(` + sensitiveFieldNames + `):\[([^\]\s]+)`)

	// "key": "value" in JSON, for sensitive keys.
	jsonFieldPattern = regexp.MustCompile(`(?i)("(?:` + sensitiveFieldNames + `)"\s*:\s*")((?:[^"\\]|\\.)*)"`)

	// key: value or key=value in logs, YAML and Go's %+v of structs, for
	// names that cannot mean anything but a secret.
	looseFieldPattern = regexp.MustCompile(`(?i)\b((?:access_?token|refresh_?token|id_?token|device_?code|client_?secret|code_?verifier|client_?assertion|subject_?token|password|passwd)["']?\s*[:=]\s*["']?)([^\s"',}&\])]+)`)

	// A password in a URL's user information.
	urlPasswordPattern = regexp.MustCompile(`(//[^/@:\s]*:)([^@/\s]+)@`)

	// A long random-looking string: an opaque token, code or secret that
	// appears without its field name (in a failure message, say). Slashes and
	// dots are excluded so that paths and host names survive.
	opaquePattern = regexp.MustCompile(`[A-Za-z0-9_\-+~]{20,}={0,2}`)
	uuidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// sensitiveFieldNames are form, query, fragment and JSON field names whose
// values are secrets (RFC 6749, 7636, 8628, 7521, 8693, OIDC).
const sensitiveFieldNames = `access_token|refresh_token|id_token|code|device_code|user_code|client_secret|client_assertion|code_verifier|password|passwd|token|subject_token|actor_token|assertion|logout_token|api_key|apikey|secret`

// String returns s with every secret shortened.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	s = r.replaceRegistered(s)
	s = r.replaceFields(s)
	s = authHeaderPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := authHeaderPattern.FindStringSubmatch(m)
		prefix, scheme, cred := sub[1], sub[2], sub[3]
		if scheme != "" {
			scheme += " "
		}
		return prefix + scheme + shortenUnlessDone(cred)
	})
	s = schemePattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemePattern.FindStringSubmatch(m)
		if strings.ToLower(sub[2]) == sub[2] && !strings.ContainsAny(sub[2], "0123456789=") {
			return m // a lower-case word after "basic" is prose, not a credential
		}
		return sub[1] + " " + shortenUnlessDone(sub[2])
	})
	s = cookieHeaderPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := cookieHeaderPattern.FindStringSubmatch(m)
		return sub[1] + redactCookiePairs(sub[2])
	})
	s = jsonFieldPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := jsonFieldPattern.FindStringSubmatch(m)
		return sub[1] + shortenUnlessDone(sub[2]) + `"`
	})
	s = formFieldPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := formFieldPattern.FindStringSubmatch(m)
		return sub[1] + sub[2] + "=" + shortenUnlessDone(sub[3])
	})
	s = goMapFieldPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := goMapFieldPattern.FindStringSubmatch(m)
		return sub[1] + sub[2] + ":[" + shortenUnlessDone(sub[3])
	})
	s = looseFieldPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := looseFieldPattern.FindStringSubmatch(m)
		return sub[1] + shortenUnlessDone(sub[2])
	})
	s = urlPasswordPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := urlPasswordPattern.FindStringSubmatch(m)
		return sub[1] + shortenUnlessDone(sub[2]) + "@"
	})
	s = jwtPattern.ReplaceAllStringFunc(s, shortenUnlessDone)
	s = opaquePattern.ReplaceAllStringFunc(s, func(m string) string {
		if !looksRandom(m) || uuidPattern.MatchString(m) {
			return m
		}
		return Shorten(m)
	})
	return s
}

// URL returns a URL string with its password, sensitive query and fragment
// parameters (code, access_token, ...) and any registered secret shortened.
// The query is not re-encoded, so parameter order and duplicates, which can
// be the evidence, stay as they were.
func (r *Redactor) URL(u string) string { return r.String(u) }

// Header returns a copy of h with credentials shortened: Authorization and
// Proxy-Authorization keep their scheme, Cookie and Set-Cookie keep cookie
// names and attributes, headers named like a token, secret, key or session
// are shortened whole, and every other value is redacted as text (a Location
// header carries the code in its query).
func (r *Redactor) Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for name, values := range h {
		redacted := make([]string, len(values))
		for i, v := range values {
			redacted[i] = r.headerValue(name, v)
		}
		out[name] = redacted
	}
	return out
}

func (r *Redactor) headerValue(name, value string) string {
	lower := strings.ToLower(name)
	switch {
	case lower == "authorization" || lower == "proxy-authorization":
		scheme, cred, found := strings.Cut(strings.TrimSpace(value), " ")
		if !found {
			return shortenUnlessDone(scheme)
		}
		return scheme + " " + shortenUnlessDone(strings.TrimSpace(cred))
	case lower == "cookie" || lower == "set-cookie":
		return redactCookiePairs(value)
	case strings.Contains(lower, "token"), strings.Contains(lower, "secret"),
		strings.Contains(lower, "password"), strings.Contains(lower, "api-key"),
		strings.Contains(lower, "apikey"), strings.Contains(lower, "session"),
		lower == "dpop":
		return shortenUnlessDone(value)
	}
	return r.String(value)
}

// Exchange returns a copy of e with its URL, headers, bodies and error text
// redacted.
func (r *Redactor) Exchange(e trace.Exchange) trace.Exchange {
	e.URL = r.URL(e.URL)
	e.RequestHeader = r.Header(e.RequestHeader)
	e.RequestBody = r.String(e.RequestBody)
	e.ResponseHeader = r.Header(e.ResponseHeader)
	e.ResponseBody = r.String(e.ResponseBody)
	e.Err = r.String(e.Err)
	return e
}

func (r *Redactor) replaceRegistered(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, form := range r.ordered {
		if strings.Contains(s, form) {
			s = strings.ReplaceAll(s, form, Shorten(r.secrets[form]))
		}
	}
	return s
}

// String shortens secrets found by shape and place (no registered
// secrets); see Redactor.String.
func String(s string) string { return (*Redactor)(nil).String(s) }

// URL shortens the secrets in a URL; see Redactor.URL.
func URL(u string) string { return (*Redactor)(nil).URL(u) }

// Header returns a copy of h with credentials shortened; see Redactor.Header.
func Header(h http.Header) http.Header { return (*Redactor)(nil).Header(h) }

// Exchange returns a copy of e with its secrets shortened; see Redactor.Exchange.
func Exchange(e trace.Exchange) trace.Exchange { return (*Redactor)(nil).Exchange(e) }

func shortenUnlessDone(v string) string {
	if isShortened(v) {
		return v
	}
	return Shorten(v)
}

// cookieAttributes are Set-Cookie attribute names, kept as they are.
func isCookieAttribute(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "partitioned", "priority":
		return true
	}
	return false
}

// redactCookiePairs shortens the value of every name=value pair of a Cookie
// or Set-Cookie value, keeping names and Set-Cookie attributes.
func redactCookiePairs(v string) string {
	pairs := strings.Split(v, ";")
	for i, p := range pairs {
		name, value, found := strings.Cut(p, "=")
		if !found || isCookieAttribute(name) {
			continue
		}
		pairs[i] = name + "=" + shortenUnlessDone(value)
	}
	return strings.Join(pairs, ";")
}

// looksRandom tells a token-like string from an identifier. Random base64url
// or hex keeps switching between digits and other characters, while names
// ("TestRedaction419092056", "request_duration_seconds") switch once or
// never. Random strings with few digits (RFC 8628's example device code has
// one) are told by length, mixed case and per-character entropy, which
// camel-case names stay below. UUIDs are excluded by the caller.
func looksRandom(s string) bool {
	switches := 0
	var upper, lower, digits int
	counts := map[byte]int{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		counts[c]++
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		}
		if i > 0 && isDigit(c) != isDigit(s[i-1]) {
			switches++
		}
	}
	if switches >= minDigitSwitches {
		return true
	}
	if len(s) < 32 || upper == 0 || lower == 0 || digits == 0 {
		return false
	}
	entropy := 0.0
	for _, n := range counts {
		p := float64(n) / float64(len(s))
		entropy -= p * math.Log2(p)
	}
	return entropy >= minEntropyBits
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// minDigitSwitches is how often a random-looking string must switch between
// digits and other characters. A random 20-byte base64url string does so
// about five times on average.
const minDigitSwitches = 4

// minEntropyBits is the per-character Shannon entropy above which a long
// mixed-case string counts as random: 40 random base64url characters reach
// about 4.6 bits, long camel-case test names about 4.3.
const minEntropyBits = 4.4

// maxPendingLine bounds how much a Writer holds while it waits for a newline.
const maxPendingLine = 64 * 1024

// Writer redacts what is written through it, a line at a time, so that a
// secret split across two Write calls is still seen whole. Call Flush (or
// Close) at the end to write a last line without a newline.
type Writer struct {
	redactor *Redactor
	dst      io.Writer
	mu       sync.Mutex
	pending  []byte
}

// Writer returns an io.Writer that redacts everything written to dst: wrap
// log and progress output in it.
func (r *Redactor) Writer(dst io.Writer) *Writer {
	return &Writer{redactor: r, dst: dst}
}

// Write buffers p and writes every complete line, redacted. It reports len(p)
// written unless the destination fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	cut := bytes.LastIndexByte(w.pending, '\n') + 1
	if cut == 0 && len(w.pending) > maxPendingLine {
		// A very long line: flush up to its last space so a token is not cut.
		cut = bytes.LastIndexAny(w.pending, " \t") + 1
		if cut == 0 {
			cut = len(w.pending)
		}
	}
	if cut == 0 {
		return len(p), nil
	}
	if err := w.emit(w.pending[:cut]); err != nil {
		return 0, err
	}
	w.pending = append(w.pending[:0], w.pending[cut:]...)
	return len(p), nil
}

// Flush writes whatever is buffered, redacted.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	err := w.emit(w.pending)
	w.pending = w.pending[:0]
	return err
}

// Close flushes; it does not close the destination.
func (w *Writer) Close() error { return w.Flush() }

func (w *Writer) emit(b []byte) error {
	_, err := io.WriteString(w.dst, w.redactor.String(string(b)))
	return err
}
