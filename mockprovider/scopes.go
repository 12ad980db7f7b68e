package mockprovider

import "strings"

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

func (p *Provider) scopeHas(s scopeSet, name string) bool {
	bit, ok := p.scopeBits[name]
	return ok && s&(1<<bit) != 0
}
