package mockprovider

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// readPostForm is the start of the POST-only JSON endpoints (device
// authorization, introspection, revocation): the method, then readForm. When
// it returns false it has already answered.
func (p *Provider) readPostForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		p.methodNotAllowed(w, http.MethodPost)
		return nil, false
	}
	form, oerr := p.readForm(r)
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return nil, false
	}
	return form, true
}

// readForm reads a form-encoded POST body for the token, device, introspection
// and revocation endpoints: parameters only in the body (RFC 6749 3.2 keeps
// credentials out of URLs), the body capped, and no parameter repeated
// (RFC 6749 3.1, 3.2: "parameters MUST NOT be included more than once").
func (p *Provider) readForm(r *http.Request) (url.Values, *oauthError) {
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("parameters must be sent in the request body, not the URL query")
	}
	if len(r.Header["Content-Type"]) > 1 {
		return nil, invalidRequest("the Content-Type header is sent more than once")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if p.cfg.Behaviour.LenientFormEncoding {
		return readFormBodyWith(r, p.cfg.Limits.MaxBodyBytes, parseFormLenient)
	}
	return readFormBody(r, p.cfg.Limits.MaxBodyBytes)
}

func readFormBody(r *http.Request, maxBytes int64) (url.Values, *oauthError) {
	return readFormBodyWith(r, maxBytes, url.ParseQuery)
}

// readFormBodyWith reads a capped form body with parse, refusing repeated
// parameters.
func readFormBodyWith(r *http.Request, maxBytes int64, parse func(string) (url.Values, error)) (url.Values, *oauthError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, invalidRequest("could not read the request body")
	}
	if int64(len(body)) > maxBytes {
		return nil, invalidRequest(fmt.Sprintf("the request body is larger than %d bytes", maxBytes))
	}
	values, err := parse(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not valid form encoding")
	}
	if name, dup := repeatedParam(values); dup {
		return nil, invalidRequest(fmt.Sprintf("parameter %q is repeated", name))
	}
	return values, nil
}

// parseFormLenient is the WHATWG application/x-www-form-urlencoded parser
// (URL Standard 5.1): "&"-separated name=value pairs, "+" for a space, and a
// "%" not followed by two hex digits kept as it is rather than an error.
func parseFormLenient(body string) (url.Values, error) {
	values := url.Values{}
	for pair := range strings.SplitSeq(body, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name = percentDecodeLenient(name)
		values[name] = append(values[name], percentDecodeLenient(value))
	}
	return values, nil
}

// percentDecodeLenient decodes "+" and valid percent-escapes, keeping any
// other "%" literally.
func percentDecodeLenient(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// repeatedParam finds a parameter sent more than once, except the two that
// may be: resource (RFC 8707 2) and audience (RFC 8693 2.1).
func repeatedParam(values url.Values) (string, bool) {
	for name, v := range values {
		if len(v) > 1 && name != "resource" && name != "audience" {
			return truncate(name, 40), true
		}
	}
	return "", false
}

// truncate shortens attacker-chosen text before it is echoed in a description.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
