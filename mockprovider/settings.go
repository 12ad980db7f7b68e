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
	{SettingInfo{"defer_authorization_errors", "a repeated authorization parameter or a bad PKCE challenge is refused only after login and consent, with an error redirect carrying the state (AC10, AC11, AC13)", nil},
		func(c *Config) { c.Behaviour.DeferAuthorizationErrors = true }},
	{SettingInfo{"login_app", "the authorization endpoint redirects to a separate login page bound to a cookie; only that page refuses framing (B5)", nil},
		func(c *Config) { c.Behaviour.LoginApp = true }},
	{SettingInfo{"error_pages_500", "error pages are served with HTTP 500: still no redirect, so B1-B4 pass with a warning", []string{"B1", "B2", "B3", "B4"}},
		func(c *Config) { c.Behaviour.ErrorPageStatus = ServerErrorPageStatus }},
	{SettingInfo{"offline_access_needs_consent", "offline_access is ignored (no refresh token) unless the authorization request has prompt=consent (OIDC Core 11; R1-R6, E2, E3)", nil},
		func(c *Config) { c.Behaviour.OfflineAccessNeedsConsent = true }},
	{SettingInfo{"clock_skew", fmt.Sprintf("access tokens are still served %s past exp; the profile says lifetimes.clock_skew (E1)", DefaultClockSkew), nil},
		func(c *Config) { c.Behaviour.ClockSkew = DefaultClockSkew }},
	{SettingInfo{"unadvertised_endpoints", "the metadata leaves out introspection_endpoint and revocation_endpoint, still served; the profile names them under endpoints (I1, I2, V2)", nil},
		func(c *Config) { c.Behaviour.UnadvertisedEndpoints = true }},
	{SettingInfo{"remember_consent", "no consent page for scopes the login session approved before, unless prompt=consent (AC15)", nil},
		func(c *Config) { c.Behaviour.RememberConsent = true }},
	{SettingInfo{"custom_pages", "login, consent and error pages with markup, field names and buttons of their own; the profile gives their selectors (the HTTP form driver, the browser)", nil},
		func(c *Config) { c.Behaviour.CustomPages = true }},
	{SettingInfo{"device_denied_page", "a denied device request ends on a page of its own (#device-denied); the profile says browser.device.denied (D4)", nil},
		func(c *Config) { c.Behaviour.DeviceDeniedPage = true }},
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
