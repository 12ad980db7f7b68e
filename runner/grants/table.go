package grants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
)

// Kind is one row of the flow table: a flow the runner can replay, as --flow,
// scenario files, results and metrics name it.
type Kind struct {
	Name string
	// Clients are the client roles the flow can act as, in the order it tries
	// them; the target profile must have one of them.
	Clients func(t *flows.Target) []flows.Role
	// Pages: the flow drives the provider's login and consent pages, in its
	// iterations or in its setup, so browser consent needs Config.Browser.
	Pages bool
	// Consent: a scenario of this flow may choose its own consent mode
	// (the others follow the run's).
	Consent bool
	build   func(cfg Config) runner.Flow
}

// KindTable is the flow table; Table is the one the CLI, scenario files and
// the demo use.
type KindTable []Kind

func roles(r ...flows.Role) func(*flows.Target) []flows.Role {
	return func(*flows.Target) []flows.Role { return r }
}

// Table lists every flow the runner replays. A new flow is a row here.
var Table = KindTable{
	{Name: flows.FlowClientCredentials, Clients: func(t *flows.Target) []flows.Role { return []flows.Role{t.ServiceRole()} },
		build: func(cfg Config) runner.Flow { return newClientCredentials(cfg.Target) }},
	{Name: flows.FlowAuthCode, Clients: roles(flows.RoleConfidential), Pages: true, Consent: true,
		build: func(cfg Config) runner.Flow { return newAuthCode(cfg) }},
	// Refresh tokens are seeded through the code flow (pages) or, failing that,
	// the password grant.
	{Name: flows.FlowRefresh, Clients: roles(flows.RoleConfidential, flows.RoleLegacy), Pages: true,
		build: func(cfg Config) runner.Flow { return newRefresh(cfg) }},
	{Name: flows.FlowDeviceCode, Clients: roles(flows.RoleDevice), Pages: true,
		build: func(cfg Config) runner.Flow { return newDeviceCode(cfg) }},
	{Name: flows.FlowPassword, Clients: roles(flows.RoleLegacy),
		build: func(cfg Config) runner.Flow { return newPassword(cfg.Target) }},
}

// Lookup returns the row of a flow name.
func (tb KindTable) Lookup(name string) (Kind, bool) {
	i := slices.IndexFunc(tb, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return tb[i], true
}

// FlowNames lists the flows in table order.
func (tb KindTable) FlowNames() []string {
	names := make([]string, len(tb))
	for i, k := range tb {
		names[i] = k.Name
	}
	return names
}

// CheckScenario implements runner.FlowCatalog: flow must be a row of the table,
// and consent ("" for the run's) a consent mode the flow takes.
func (tb KindTable) CheckScenario(flow, consent string) (field string, err error) {
	k, ok := tb.Lookup(flow)
	if !ok {
		return "flow", fmt.Errorf("unknown flow %q (one of %s)", flow, strings.Join(tb.FlowNames(), ", "))
	}
	if consent == "" {
		return "", nil
	}
	if !k.Consent {
		var takers []string
		for _, k := range tb {
			if k.Consent {
				takers = append(takers, k.Name)
			}
		}
		return "consent", fmt.Errorf("only %s has a consent mode", strings.Join(takers, ", "))
	}
	if _, err := ParseConsent(consent); err != nil {
		return "consent", err
	}
	return "", nil
}

// ParseConsent reads a consent mode as --consent and scenario files write it;
// "" stays "" (let ResolveConsent pick).
func ParseConsent(s string) (flows.ConsentMode, error) {
	switch m := flows.ConsentMode(s); m {
	case flows.ConsentHTTP, flows.ConsentBrowser, "":
		return m, nil
	}
	return "", fmt.Errorf("%q is not %s or %s", s, flows.ConsentHTTP, flows.ConsentBrowser)
}

// ResolveConsent decides how a scenario logs in and consents: its own mode
// (scenario files, for flows with Consent), else the run's (--consent), else
// form posts when the target's pages allow them (features.http_consent) and the
// browser otherwise. It is the one place the mode is decided.
func ResolveConsent(spec runner.ScenarioSpec, runDefault string, t *flows.Target) (flows.ConsentMode, error) {
	requested := spec.Consent
	if requested == "" {
		requested = runDefault
	}
	mode, err := ParseConsent(requested)
	if err != nil {
		return "", fmt.Errorf("scenario %s: consent %w", spec.Name, err)
	}
	switch mode {
	case flows.ConsentHTTP:
		if !t.Features.HTTPConsent {
			return "", fmt.Errorf("scenario %s: --consent http needs a target whose pages can be posted over plain HTTP (features.http_consent); use --consent browser", spec.Name)
		}
	case "":
		mode = flows.ConsentBrowser
		if t.Features.HTTPConsent {
			mode = flows.ConsentHTTP
		}
	}
	return mode, nil
}
