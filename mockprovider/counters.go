package mockprovider

import (
	"slices"
	"sync/atomic"

	"github.com/grantbench/grantbench/oauth"
)

// Endpoint names for the request counters; a fixed set, so the admin API's
// counters stay bounded.
var endpointNames = [...]string{"discovery", "jwks", "authorize", "login", "consent", "token",
	"device_authorization", "device", "introspect", "revoke", "userinfo", "metrics", "admin", "other"}

// Indexes into endpointNames.
const (
	endpointDiscovery = iota
	endpointJWKS
	endpointAuthorize
	endpointLogin
	endpointConsent
	endpointToken
	endpointDeviceAuthorization
	endpointDevice
	endpointIntrospect
	endpointRevoke
	endpointUserinfo
	endpointMetrics
	endpointAdmin
	endpointOther
)

// Issued kinds.
const (
	issuedAccessToken = iota
	issuedRefreshToken
	issuedIDToken
	issuedCode
	issuedDeviceCode
	issuedKinds
)

var issuedNames = [issuedKinds]string{"access_token", "refresh_token", "id_token", "authorization_code", "device_code"}

// counters are lock-free so that counting never serialises requests.
type counters struct {
	requests [len(endpointNames)]atomic.Int64
	// errors counts error responses by code, indexed as oauth.ErrorCodes;
	// a code outside that list (a fault's custom code, a defect's made-up
	// one) is not counted, so the label set stays fixed.
	errors []atomic.Int64
	issued [issuedKinds]atomic.Int64
	// grants counts successful token responses by grant type.
	grants [len(knownGrants)]atomic.Int64
}

func newCounters() counters {
	return counters{errors: make([]atomic.Int64, len(oauth.ErrorCodes))}
}

func (c *counters) countRequest(endpoint int) { c.requests[endpoint].Add(1) }

func (c *counters) countError(code oauth.ErrorCode) {
	if i := slices.Index(oauth.ErrorCodes, code); i >= 0 {
		c.errors[i].Add(1)
	}
}

func (c *counters) countIssued(kind int) { c.issued[kind].Add(1) }

func (c *counters) countGrant(grant string) {
	for i, g := range knownGrants {
		if g == grant {
			c.grants[i].Add(1)
			return
		}
	}
}

// snapshot renders the counters for the admin API.
func (c *counters) snapshot() map[string]map[string]int64 {
	out := map[string]map[string]int64{
		"requests": {}, "errors": {}, "issued": {}, "grants": {},
	}
	for i, n := range endpointNames {
		out["requests"][n] = c.requests[i].Load()
	}
	for i, n := range oauth.ErrorCodes {
		out["errors"][string(n)] = c.errors[i].Load()
	}
	for i, n := range issuedNames {
		out["issued"][n] = c.issued[i].Load()
	}
	for i, n := range knownGrants {
		out["grants"][n] = c.grants[i].Load()
	}
	return out
}
