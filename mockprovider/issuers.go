package mockprovider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// IssuerConfig is one further issuer served by the same provider under
// /{ID}/: its own issuer identifier ({parent issuer}/{ID}), signing keys,
// clients, users, claims, defects, admin API and clock offset. It is a
// configuration of its own over the embedded default, as a file given to
// LoadConfig would be: nothing is inherited from the enclosing
// configuration, so that one tenant's settings never leak into another's.
type IssuerConfig struct {
	// ID is the first path segment of the issuer's URLs.
	ID string `yaml:"id"`
	// Config is the issuer's configuration. Its Issuer must be empty (New
	// derives it) and it has no Issuers of its own.
	Config Config `yaml:"-"`
}

// UnmarshalYAML reads an issuers entry: "id" plus any field of Config,
// decoded strictly over the embedded default.
func (ic *IssuerConfig) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: an issuers entry is a mapping with an id and configuration fields", node.Line)
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if key.Value == "id" {
			if err := value.Decode(&ic.ID); err != nil {
				return err
			}
			continue
		}
		rest.Content = append(rest.Content, key, value)
	}
	if err := decodeStrict(defaultYAML, &ic.Config); err != nil {
		return fmt.Errorf("embedded default config: %w", err)
	}
	if len(rest.Content) == 0 {
		return nil
	}
	// Re-encoding the entry lets decodeStrict refuse unknown fields, which
	// yaml.Node.Decode would silently drop.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(rest); err != nil {
		return err
	}
	if err := decodeStrict(buf.Bytes(), &ic.Config); err != nil {
		return fmt.Errorf("issuer %q (line %d): %w", ic.ID, node.Line, err)
	}
	return nil
}

// issuerIDPattern keeps an issuer id one plain path segment: no dot first
// (.well-known), nothing a URL would escape.
var issuerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// validateIssuers checks the issuers list's own rules; each issuer's
// configuration is validated as a whole one, its field names prefixed.
func (c *Config) validateIssuers() error {
	seen := map[string]bool{}
	for i := range c.Issuers {
		ic := &c.Issuers[i]
		field := fmt.Sprintf("issuers[%d]", i)
		if !issuerIDPattern.MatchString(ic.ID) {
			return fieldErr(field+".id", "%q must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit", ic.ID)
		}
		if seen[ic.ID] {
			return fieldErr(field+".id", "%q is listed twice", ic.ID)
		}
		seen[ic.ID] = true
		if ic.Config.Issuer != "" {
			return fieldErr(field+".issuer", "must be empty: the issuer is {issuer}/%s", ic.ID)
		}
		if len(ic.Config.Issuers) > 0 {
			return fieldErr(field+".issuers", "issuers do not nest")
		}
		if err := ic.Config.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fieldErr(field+"."+fe.Field, "%s", fe.Msg)
			}
			return fieldErr(field, "%v", err)
		}
	}
	return nil
}

// newIssuers builds the providers of cfg.Issuers with the options the
// parent was given, except its signing key: every issuer has keys of its
// own, so that a token of one never verifies at another.
func (p *Provider) newIssuers(opts []Option) error {
	if len(p.cfg.Issuers) == 0 {
		return nil
	}
	p.issuers = make(map[string]*Provider, len(p.cfg.Issuers))
	for i, ic := range p.cfg.Issuers {
		if ep, _ := p.route("/" + ic.ID); ep != endpointOther || ic.ID == "admin" {
			return fieldErr(fmt.Sprintf("issuers[%d].id", i), "%q is an endpoint of the default issuer", ic.ID)
		}
		cfg := ic.Config
		cfg.Issuer = p.issuer + "/" + ic.ID
		childOpts := append(append([]Option(nil), opts...), func(c *Provider) error { c.initialKey = nil; return nil })
		child, err := New(cfg, childOpts...)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return fieldErr(fmt.Sprintf("issuers[%d].%s", i, fe.Field), "%s", fe.Msg)
			}
			return fmt.Errorf("mockprovider: issuers[%d]: %w", i, err)
		}
		p.issuers[ic.ID] = child
	}
	return nil
}

// IssuerByID returns the provider of the issuer configured with id under
// Config.Issuers, or nil. The default issuer is the Provider itself.
func (p *Provider) IssuerByID(id string) *Provider { return p.issuers[id] }

// IssuerIDs lists the ids of the further issuers in configuration order.
func (p *Provider) IssuerIDs() []string {
	ids := make([]string, 0, len(p.cfg.Issuers))
	for _, ic := range p.cfg.Issuers {
		ids = append(ids, ic.ID)
	}
	return ids
}

// setBasePath takes the path of an issuer with one (https://host/tenant):
// its endpoints, pages and cookies live under it.
func (p *Provider) setBasePath() error {
	u, err := url.Parse(p.issuer)
	if err != nil {
		return fieldErr("issuer", "%v", err)
	}
	p.basePath = u.Path
	if p.basePath != "" {
		sum := sha256.Sum256([]byte(p.basePath))
		p.cookieSuffix = "_" + hex.EncodeToString(sum[:4])
	}
	return nil
}

// dispatch strips the issuer's base path and hands a request for a further
// issuer to its provider. It returns the request this provider serves, or
// nil when another issuer took it.
func (p *Provider) dispatch(w http.ResponseWriter, r *http.Request) *http.Request {
	path := r.URL.Path
	if p.basePath != "" {
		rest, ok := strings.CutPrefix(path, p.basePath)
		if !ok || rest != "" && rest[0] != '/' {
			rest = "" // not ours: routes to 404
		}
		path = rest
	}
	if len(p.issuers) > 0 {
		segment, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if sub := p.issuers[segment]; sub != nil {
			sub.ServeHTTP(w, r)
			return nil
		}
		// RFC 8414 3.1: the metadata of an issuer with a path is at the
		// well-known path with the issuer's path appended.
		if id, ok := strings.CutPrefix(path, wellKnownAS+"/"); ok && p.issuers[id] != nil {
			sub := p.issuers[id]
			sub.ServeHTTP(w, withPath(r, sub.basePath+wellKnownAS))
			return nil
		}
	}
	if p.basePath == "" {
		return r
	}
	return withPath(r, path)
}

const wellKnownAS = "/.well-known/oauth-authorization-server"

// withPath is r with another URL path, as http.StripPrefix makes it.
func withPath(r *http.Request, path string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path, r2.URL.RawPath = path, ""
	return r2
}

// cookieName keeps the cookies of issuers served by one host apart.
func (p *Provider) cookieName(name string) string { return name + p.cookieSuffix }

// cookiePath scopes a cookie to the issuer's pages.
func (p *Provider) cookiePath(path string) string { return p.basePath + path }
