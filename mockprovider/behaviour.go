package mockprovider

// The behaviours (Config.Behaviour) that the fairness settings of the
// authorization endpoint and the pages use: their defaults, validation and
// the custom pages' selectors.

import "time"

// DefaultClockSkew is the tolerance the clock_skew setting gives: longer than
// the minute by which expiry checks move the clock past exp, so a check that ignores the profile's
// lifetimes.clock_skew sees the token still served.
const DefaultClockSkew = 3 * time.Minute

// DefaultErrorPageStatus is the status of error pages without
// Behaviour.ErrorPageStatus; ServerErrorPageStatus is what the error_pages_500
// setting gives.
const (
	DefaultErrorPageStatus = 400
	ServerErrorPageStatus  = 500
)

// validate checks the fields of the behaviours the suites' fairness
// settings use (the others are checked in Config.Validate).
func (b *Behaviour) validate() error {
	if b.ErrorPageStatus != 0 && (b.ErrorPageStatus < 400 || b.ErrorPageStatus > 599) {
		return fieldErr("behaviour.error_page_status", "must be a 4xx or 5xx status, got %d", b.ErrorPageStatus)
	}
	if b.ClockSkew < 0 || b.ClockSkew > time.Hour {
		return fieldErr("behaviour.clock_skew", "must be between 0 and 1h, got %v", b.ClockSkew)
	}
	return nil
}

// errorPageStatus is the status of the error pages.
func (b *Behaviour) errorPageStatus() int {
	if b.ErrorPageStatus != 0 {
		return b.ErrorPageStatus
	}
	return DefaultErrorPageStatus
}

// The field names and values of the custom_pages setting's pages, and the selectors
// a profile gives for them.
const (
	customLoginUser     = "login"
	customLoginPassword = "secret"
	customConsentField  = "action"
	customApprove       = "allow"
	customDeny          = "reject"
)

// CustomPageSelectors are the target-profile selectors of the pages the
// custom_pages setting serves (browser: login, consent, error), in the
// profile's terms: login username, password, submit; consent approve, deny;
// the error element and its description.
func CustomPageSelectors() (login [3]string, consent [2]string, errorPage [2]string) {
	return [3]string{"input[name=" + customLoginUser + "]", "#signin-secret", "form.signin button[type=submit]"},
		[2]string{"button[value=" + customApprove + "]", "button[value=" + customDeny + "]"},
		[2]string{".oauth-error .code", ".oauth-error .detail"}
}
