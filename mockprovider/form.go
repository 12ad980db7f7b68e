package mockprovider

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
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
	return readFormBody(r, p.cfg.Limits.MaxBodyBytes)
}

func readFormBody(r *http.Request, maxBytes int64) (url.Values, *oauthError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, invalidRequest("could not read the request body")
	}
	if int64(len(body)) > maxBytes {
		return nil, invalidRequest(fmt.Sprintf("the request body is larger than %d bytes", maxBytes))
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not valid form encoding")
	}
	if name, dup := repeatedParam(values); dup {
		return nil, invalidRequest(fmt.Sprintf("parameter %q is repeated", name))
	}
	return values, nil
}

// repeatedParam finds a parameter sent more than once.
func repeatedParam(values url.Values) (string, bool) {
	for name, v := range values {
		if len(v) > 1 {
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
