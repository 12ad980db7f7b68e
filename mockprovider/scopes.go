package mockprovider

import (
	"fmt"
	"slices"
	"strings"
)

// scopeSet is a set of the configured scopes as bits, in config order
// (Validate caps the list at 64). Access records store it instead of a
// string to stay pointer-free.
type scopeSet uint64

// scopeSetOf maps scope names to bits; names must have been validated.
func (p *Provider) scopeSetOf(scopes []string) scopeSet {
	var s scopeSet
	for _, name := range scopes {
		if bit, ok := p.scopeBits[name]; ok {
			s |= 1 << bit
		}
	}
	return s
}

// scopeString renders a set as a scope parameter, in config order.
func (p *Provider) scopeString(s scopeSet) string {
	if s == 0 {
		return ""
	}
	var b strings.Builder
	for i, name := range p.cfg.Scopes {
		if s&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// scopeList is a set's scope names in config order; nil for the empty set.
func (p *Provider) scopeList(s scopeSet) []string {
	var out []string
	for i, name := range p.cfg.Scopes {
		if s&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

func (p *Provider) scopeHas(s scopeSet, name string) bool {
	bit, ok := p.scopeBits[name]
	return ok && s&(1<<bit) != 0
}

// parseScope splits a scope parameter (RFC 6749 3.3) into distinct tokens,
// in order.
func parseScope(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if !validScopeToken(tok) {
			return nil, false
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, true
}

// resolveTokenScope is resolveScope for token requests. With
// Behaviour.DropUnknownScopes the scopes the client may not have are left
// out (the response's scope says what was granted); the scope_unchecked
// defect grants whatever was asked, unknown scopes included, and says so.
// granted is the scope to put in the response when it is not the rendering
// of scopes (the defect's unknown scopes have no bit in a scopeSet).
func (p *Provider) resolveTokenScope(c *Client, requested string) (scopes []string, granted string, oerr *oauthError) {
	if p.defect(c, dScopeUnchecked) {
		scopes, _ := parseScope(requested)
		return scopes, joinScopes(scopes), nil
	}
	if p.cfg.Behaviour.DropUnknownScopes || p.defect(c, dScopeChangeUnreported) {
		asked, ok := parseScope(requested)
		if !ok {
			return nil, "", invalidScope("the scope parameter is malformed")
		}
		var allowed []string
		for _, s := range asked {
			if slices.Contains(c.Scopes, s) {
				allowed = append(allowed, s)
			}
		}
		if len(asked) > 0 && len(allowed) == 0 {
			return nil, "", invalidScope("none of the requested scopes is allowed for this client")
		}
		if len(allowed) == 0 {
			allowed = c.DefaultScopes
		}
		return allowed, "", nil
	}
	scopes, oerr = p.resolveScope(c, requested)
	return scopes, "", oerr
}

// resolveScope checks a requested scope against what the client may ask
// for; an empty request gets the client's default scopes.
func (p *Provider) resolveScope(c *Client, requested string) ([]string, *oauthError) {
	scopes, ok := parseScope(requested)
	if !ok {
		return nil, invalidScope("the scope parameter is malformed")
	}
	if len(scopes) == 0 {
		return c.DefaultScopes, nil
	}
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return nil, invalidScope(fmt.Sprintf("scope %q is not allowed for this client", truncate(s, 40)))
		}
	}
	return scopes, nil
}

// subsetOf reports whether every scope in a is in b.
func subsetOf(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

func mergeScopes(have, add []string) []string {
	out := append([]string(nil), have...)
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
