// Package rpapp describes a client application under test by `grantbench rp`:
// its profile (a YAML file: how to start it or where it runs, its client
// registration, how a login starts and how to tell that the user got in) and
// its process lifecycle (start, readiness, log, stop).
//
// It is a package of its own, not part of flows, because flows drives
// providers as a client would, while this package drives an application that
// is itself the client: the profile and the process are what the rp suite
// (suites/rp) and the CLI share, and neither needs the other's code.
package rpapp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/grantbench/grantbench/internal/yamlenv"
)

// Profile is an application profile (see the README's `grantbench rp`).
type Profile struct {
	Name     string       `yaml:"name"`
	App      AppSpec      `yaml:"app"`
	Client   ClientSpec   `yaml:"client"`
	Login    string       `yaml:"login"`
	LoggedIn LoggedInSpec `yaml:"logged_in"`
	Provider ProviderSpec `yaml:"provider"`
	// MultipleProviders says the app talks to several providers, which makes
	// a mix-up (P14) a failure rather than a warning.
	MultipleProviders bool `yaml:"multiple_providers"`

	// Dir is the profile's folder: relative command paths and the app's
	// working directory are taken from it.
	Dir string `yaml:"-"`
}

// AppSpec says how to start the application, or where it runs already.
type AppSpec struct {
	// Command is started by grantbench (argv; templates allowed).
	Command []string `yaml:"command"`
	// Env is added to grantbench's own environment (templates allowed).
	Env map[string]string `yaml:"env"`
	// Dir is the working directory, relative to the profile's folder.
	Dir string `yaml:"dir"`
	// Ready is the path polled until the app answers (default: Login).
	Ready string `yaml:"ready"`
	// BaseURL is an application that runs already; Command must be empty.
	BaseURL string `yaml:"base_url"`
}

// ClientSpec is the app's client registration at the mock provider.
type ClientSpec struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// AuthMethod is client_secret_basic, client_secret_post or none
	// (default: basic with a secret, none without).
	AuthMethod  string `yaml:"auth_method"`
	RedirectURI string `yaml:"redirect_uri"`
}

// Public reports whether the client has no secret.
func (c ClientSpec) Public() bool { return c.ClientSecret == "" }

// LoggedInSpec tells a logged-in user from one who is not.
type LoggedInSpec struct {
	// Path is opened with the browser's cookies after the flow; "" judges the
	// page the flow ended on.
	Path string `yaml:"path"`
	// Text must appear in the page's text; Selector must match an element.
	Text     string `yaml:"text"`
	Selector string `yaml:"selector"`
}

// ProviderSpec configures the mock provider.
type ProviderSpec struct {
	// Addr is a fixed host:port on the loopback interface ("" or port 0: any).
	Addr string `yaml:"addr"`
}

// Auth methods a profile may name.
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"
)

// Template names the profile may use as {{name}}.
var templateNames = []string{
	"issuer", "port", "base_url", "client_id", "client_secret", "redirect_uri",
	"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "grantbench",
}

// Values are the templates' values for one run.
type Values map[string]string

// ProfileError is a bad profile; Field is the dotted path of the field at
// fault ("" for the document as a whole).
type ProfileError struct {
	Field string
	Err   error
}

func (e *ProfileError) Error() string {
	if e.Field == "" {
		return "application profile: " + e.Err.Error()
	}
	return "application profile: " + e.Field + ": " + e.Err.Error()
}

func (e *ProfileError) Unwrap() error { return e.Err }

// Load reads a profile from a file; see [Parse].
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ProfileError{Err: err}
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, &ProfileError{Err: err}
	}
	p, err := Parse(data, abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse parses a profile whose folder is dir. ${VAR} (or ${VAR:-default};
// "$$" is a "$") is replaced from the environment; {{name}} templates are
// checked here and filled by [Profile.Render]. Unknown fields and templates
// are errors naming the field.
func Parse(data []byte, dir string) (*Profile, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ProfileError{Err: err}
	}
	if root.Kind == 0 {
		return nil, &ProfileError{Err: errors.New("profile is empty")}
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&Profile{}); err != nil {
		return nil, fieldError(&root, err)
	}
	if err := expandProfileEnv(&root); err != nil {
		return nil, err
	}
	p := &Profile{Dir: dir}
	if err := root.Decode(p); err != nil {
		return nil, fieldError(&root, err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

var lineRef = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`field (\S+) not found in type`)

// fieldError names the field of a yaml decoding error (yaml reports lines).
func fieldError(root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return &ProfileError{Err: err}
	}
	m := lineRef.FindStringSubmatch(te.Errors[0])
	if m == nil {
		return &ProfileError{Err: err}
	}
	var line int
	fmt.Sscan(m[1], &line)
	if u := unknownField.FindStringSubmatch(m[2]); u != nil {
		path := pathAtLine(root, line, "", u[1])
		if path == "" {
			path = u[1]
		}
		return &ProfileError{Field: path, Err: fmt.Errorf("unknown field (line %d)", line)}
	}
	return &ProfileError{Field: pathAtLine(root, line, "", ""), Err: errors.New(m[2])}
}

// pathAtLine returns the dotted path of the key on line (named key, when
// given: a flow mapping holds several keys on one line).
func pathAtLine(n *yaml.Node, line int, path, key string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := pathAtLine(c, line, path, key); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p := pathAtLine(c, line, fmt.Sprintf("%s[%d]", path, i), key); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if k := n.Content[i]; k.Line == line && (key == "" || k.Value == key) {
				return p
			}
			if deeper := pathAtLine(n.Content[i+1], line, p, key); deeper != "" {
				return deeper
			}
		}
	}
	return ""
}

var templateRef = regexp.MustCompile(`\{\{\s*([^{}\s]*)\s*\}\}`)

// checkTemplates refuses a template name the profile format does not know.
func checkTemplates(field, s string) error {
	for _, m := range templateRef.FindAllStringSubmatch(s, -1) {
		known := false
		for _, n := range templateNames {
			known = known || n == m[1]
		}
		if !known {
			return &ProfileError{Field: field, Err: fmt.Errorf("unknown template {{%s}} (known: %s)", m[1], strings.Join(templateNames, ", "))}
		}
	}
	return nil
}

// render fills s's templates from v.
func render(s string, v Values) string {
	return templateRef.ReplaceAllStringFunc(s, func(ref string) string {
		return v[templateRef.FindStringSubmatch(ref)[1]]
	})
}

// validate fills defaults and checks every field, naming the one at fault.
func (p *Profile) validate() error {
	if p.Name == "" {
		p.Name = "application"
	}
	templated := map[string]string{"app.base_url": p.App.BaseURL, "app.dir": p.App.Dir,
		"client.client_id": p.Client.ClientID, "client.client_secret": p.Client.ClientSecret,
		"client.redirect_uri": p.Client.RedirectURI}
	for i, a := range p.App.Command {
		templated[fmt.Sprintf("app.command[%d]", i)] = a
	}
	for k, v := range p.App.Env {
		templated["app.env."+k] = v
	}
	for field, s := range templated {
		if err := checkTemplates(field, s); err != nil {
			return err
		}
	}
	switch {
	case len(p.App.Command) == 0 && p.App.BaseURL == "":
		return &ProfileError{Field: "app", Err: errors.New("needs command (grantbench starts the app) or base_url (it runs already)")}
	case len(p.App.Command) > 0 && p.App.BaseURL != "":
		return &ProfileError{Field: "app.base_url", Err: errors.New("give command or base_url, not both")}
	case p.App.Command != nil && p.App.Command[0] == "":
		return &ProfileError{Field: "app.command[0]", Err: errors.New("is empty")}
	}
	if p.App.BaseURL != "" {
		if strings.Contains(p.App.BaseURL, "{{") {
			return &ProfileError{Field: "app.base_url", Err: errors.New("a running app's address cannot be a template")}
		}
		u, err := url.Parse(p.App.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ProfileError{Field: "app.base_url", Err: fmt.Errorf("%q is not an absolute http(s) URL", p.App.BaseURL)}
		}
		p.App.BaseURL = strings.TrimSuffix(p.App.BaseURL, "/")
	}
	if p.Login == "" {
		p.Login = "/login"
	}
	for field, path := range map[string]*string{"login": &p.Login, "app.ready": &p.App.Ready, "logged_in.path": &p.LoggedIn.Path} {
		if *path != "" && !strings.HasPrefix(*path, "/") {
			return &ProfileError{Field: field, Err: fmt.Errorf("%q must be a path starting with /", *path)}
		}
	}
	if p.App.Ready == "" {
		p.App.Ready = p.Login
	}
	if p.LoggedIn.Text == "" && p.LoggedIn.Selector == "" {
		return &ProfileError{Field: "logged_in", Err: errors.New("needs text or selector (what only a logged-in user sees)")}
	}
	if p.Client.ClientID == "" {
		return &ProfileError{Field: "client.client_id", Err: errors.New("is required")}
	}
	switch p.Client.AuthMethod {
	case "":
		p.Client.AuthMethod = AuthClientSecretBasic
		if p.Client.Public() {
			p.Client.AuthMethod = AuthNone
		}
	case AuthClientSecretBasic, AuthClientSecretPost:
		if p.Client.Public() {
			return &ProfileError{Field: "client.client_secret", Err: fmt.Errorf("auth_method %s needs a client_secret", p.Client.AuthMethod)}
		}
	case AuthNone:
		if !p.Client.Public() {
			return &ProfileError{Field: "client.client_secret", Err: errors.New("a public client (auth_method none) has no secret")}
		}
	default:
		return &ProfileError{Field: "client.auth_method", Err: fmt.Errorf("%q is not one of client_secret_basic, client_secret_post, none", p.Client.AuthMethod)}
	}
	if p.Client.RedirectURI == "" {
		return &ProfileError{Field: "client.redirect_uri", Err: errors.New("is required (e.g. \"{{base_url}}/callback\")")}
	}
	if p.Provider.Addr != "" {
		if err := checkLoopbackAddr(p.Provider.Addr); err != nil {
			return &ProfileError{Field: "provider.addr", Err: err}
		}
	}
	return nil
}

// checkLoopbackAddr accepts host:port on the loopback interface.
func checkLoopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: the mock listens on the loopback interface only (127.0.0.1)", addr)
	}
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil || n < 0 || n > 65535 || fmt.Sprint(n) != port {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// Rendered is the profile with its templates filled for one run.
type Rendered struct {
	BaseURL     string
	Command     []string
	Env         []string // KEY=VALUE, added to grantbench's environment
	Dir         string
	RedirectURI string
	Values      Values
}

// Render fills the templates. v must hold issuer, the endpoints, port,
// base_url and grantbench; client_id, client_secret and redirect_uri come
// from the profile (redirect_uri rendered first, so the others may use it).
func (p *Profile) Render(v Values) (*Rendered, error) {
	vals := Values{}
	for k, s := range v {
		vals[k] = s
	}
	vals["client_id"] = render(p.Client.ClientID, vals)
	vals["client_secret"] = render(p.Client.ClientSecret, vals)
	redirect := render(p.Client.RedirectURI, vals)
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return nil, &ProfileError{Field: "client.redirect_uri", Err: fmt.Errorf("%q is not an absolute http(s) URL without fragment", redirect)}
	}
	vals["redirect_uri"] = redirect
	r := &Rendered{BaseURL: vals["base_url"], RedirectURI: redirect, Values: vals, Dir: p.Dir}
	for _, a := range p.App.Command {
		r.Command = append(r.Command, render(a, vals))
	}
	if len(r.Command) > 0 && !filepath.IsAbs(r.Command[0]) && strings.ContainsRune(r.Command[0], filepath.Separator) {
		r.Command[0] = filepath.Join(p.Dir, r.Command[0])
	}
	if p.App.Dir != "" {
		r.Dir = render(p.App.Dir, vals)
		if !filepath.IsAbs(r.Dir) {
			r.Dir = filepath.Join(p.Dir, r.Dir)
		}
	}
	for k, s := range p.App.Env {
		r.Env = append(r.Env, k+"="+render(s, vals))
	}
	return r, nil
}

// expandProfileEnv expands ${VAR} references by the rules every profile
// shares (internal/yamlenv), naming the field of an unset variable.
func expandProfileEnv(root *yaml.Node) error {
	var missing *yamlenv.MissingError
	if err := yamlenv.Expand(root, ""); errors.As(err, &missing) {
		return &ProfileError{Field: missing.Field, Err: missing}
	} else if err != nil {
		return err
	}
	return nil
}
