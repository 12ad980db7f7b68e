package mockprovider

import (
	"fmt"
	"slices"
	"strings"
)

// A setting is a named configuration of the bundled mock that behaves
// differently from the default in a way the specifications allow: not a
// defect, so the conformance suites must pass the mock with it on. Each one
// stands for what some real provider does, and proves that a check judges the
// specification rather than the mock's own choice.
type setting struct {
	info  SettingInfo
	apply func(*Config)
}

// SettingInfo describes one setting of the bundled mock.
type SettingInfo struct {
	// Name is what `grantbench conform --mock-setting` takes.
	Name string `json:"name"`
	// Does says how the mock behaves with it on.
	Does string `json:"does"`
	// Warns are the checks that pass with a warning under it: a choice the
	// specifications allow but advise against (a SHOULD).
	Warns []string `json:"warns,omitempty"`
}

var settingCatalogue = []setting{
	{SettingInfo{"lenient_form_encoding", "form bodies are parsed as the WHATWG urlencoded parser does: a bad percent-escape (%zz) is kept literally", nil},
		func(c *Config) { c.Behaviour.LenientFormEncoding = true }},
	{SettingInfo{"drop_unknown_scopes", "the token endpoint grants what the client may have of a requested scope and names it in the response's scope (RFC 6749 3.3), instead of invalid_scope", nil},
		func(c *Config) { c.Behaviour.DropUnknownScopes = true }},
	{SettingInfo{"introspection_400", "introspection without credentials is refused with 400 invalid_client, not 401", nil},
		func(c *Config) { c.Behaviour.UnauthenticatedIntrospection = IntrospectionRefuse400 }},
	{SettingInfo{"introspection_invalid_request", "introspection without credentials is refused with 400 invalid_request", []string{"I2"}},
		func(c *Config) { c.Behaviour.UnauthenticatedIntrospection = IntrospectionRefuse400InvalidRequest }},
	{SettingInfo{"never_slow_down", "a device client polling too fast never gets slow_down (RFC 8628 3.5 leaves it to the server)", nil},
		func(c *Config) { c.Behaviour.NeverSlowDown = true }},
	{SettingInfo{"opaque_access_tokens", "access tokens are opaque random strings, not JWTs", nil},
		func(c *Config) { c.AccessTokenFormat = AccessTokenOpaque }},
}

// Settings lists every setting of the bundled mock, sorted by name.
func Settings() []SettingInfo {
	out := make([]SettingInfo, 0, len(settingCatalogue))
	for _, s := range settingCatalogue {
		info := s.info
		info.Warns = slices.Clone(info.Warns)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b SettingInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ApplySetting changes the configuration as the named setting says.
func (c *Config) ApplySetting(name string) error {
	i := slices.IndexFunc(settingCatalogue, func(s setting) bool { return s.info.Name == name })
	if i < 0 {
		return fmt.Errorf("unknown mock setting %q (grantbench conform --list-mock-settings)", truncate(name, 60))
	}
	settingCatalogue[i].apply(c)
	return nil
}
