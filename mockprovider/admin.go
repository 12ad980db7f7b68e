package mockprovider

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// maxAdvance bounds one clock move, so a typo cannot overflow time.
const maxAdvance = 10 * 365 * 24 * time.Hour

// AdvanceClock moves the provider's time forward by d (as POST
// /admin/clock/advance does) and returns the new time.
func (p *Provider) AdvanceClock(d time.Duration) (time.Time, error) {
	if d <= 0 || d > maxAdvance {
		return time.Time{}, errors.New("mockprovider: advance must be positive and at most ten years")
	}
	p.offset.Add(int64(d))
	return p.now(), nil
}

// RotateSigningKey makes a new signing key current (as POST
// /admin/keys/rotate does) and returns its kid. The old key stays in the
// JWKS until every token it signed has expired.
func (p *Provider) RotateSigningKey() (newKID, oldKID string, retiredUntil time.Time, err error) {
	oldKID = p.keys.signer().kid
	longest := max(p.cfg.Lifetimes.AccessToken, p.cfg.Lifetimes.IDToken)
	retiredUntil = p.now().Add(longest)
	switch {
	case p.defect(nil, dRotationDropsOldKey):
		retiredUntil = p.now() // unpublished at once, while its tokens live on
	case p.defect(nil, dRotationKeepsOldKey):
		retiredUntil = p.now().Add(farFuture) // published long after its tokens are gone
	}
	sk, err := p.keys.rotate(retiredUntil)
	if err != nil {
		return "", "", time.Time{}, err
	}
	p.log.Info("signing key rotated", "kid", sk.kid, "previous_kid", oldKID)
	return sk.kid, oldKID, retiredUntil, nil
}

// Stats returns the counters and state sizes that GET /admin/counters shows.
func (p *Provider) Stats() map[string]map[string]int64 {
	out := p.counters.snapshot()
	out["state"], out["state_bytes"], out["state_evicted"] = map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, st := range p.store.stats() {
		out["state"][st.kind] = st.entries
		out["state_bytes"][st.kind] = st.bytes
		out["state_evicted"][st.kind] = st.evicted
	}
	out["state_bytes"]["limit"] = p.cfg.Limits.MaxStateBytes
	return out
}

// handleAdmin serves /admin/... when an admin token is configured; without
// one the admin API does not exist (404).
func (p *Provider) handleAdmin(w http.ResponseWriter, r *http.Request) {
	if p.adminToken == "" {
		http.NotFound(w, r)
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, oauth.TokenTypeBearer) || subtle.ConstantTimeCompare([]byte(token), []byte(p.adminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="grantbench-admin"`)
		adminJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /admin/clock":
		p.adminClock(w)
	case "POST /admin/clock/advance":
		var body struct {
			Seconds float64 `json:"seconds"`
		}
		if err := decodeAdminBody(r, &body); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if _, err := p.AdvanceClock(time.Duration(body.Seconds * float64(time.Second))); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": "seconds must be positive and at most ten years"})
			return
		}
		p.adminClock(w)
	case "POST /admin/keys/rotate":
		kid, old, until, err := p.RotateSigningKey()
		if err != nil {
			p.log.Error("key rotation failed", "err", err)
			adminJSON(w, http.StatusInternalServerError, map[string]string{"error": "key rotation failed"})
			return
		}
		adminJSON(w, http.StatusOK, map[string]any{"kid": kid, "previous_kid": old, "previous_published_until": until.UTC().Format(time.RFC3339)})
	case "GET /admin/counters":
		adminJSON(w, http.StatusOK, p.Stats())
	case "GET /admin/defects":
		adminJSON(w, http.StatusOK, p.DefectsInForce())
	case "PUT /admin/defects":
		var body DefectSettings
		if err := decodeAdminBody(r, &body); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": `the body must be {"provider": [names], "clients": {"id": [names]}}`})
			return
		}
		if err := p.SetDefects(body); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		adminJSON(w, http.StatusOK, p.DefectsInForce())
	case "GET /admin/faults":
		adminJSON(w, http.StatusOK, map[string]any{"faults": p.FaultsInForce()})
	case "PUT /admin/faults":
		var body struct {
			Faults []Fault `json:"faults"`
		}
		if err := decodeAdminBody(r, &body); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": `the body must be {"faults": [{"endpoint": "token", "latency": "50ms", ...}]}`})
			return
		}
		if err := p.SetFaults(body.Faults); err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		adminJSON(w, http.StatusOK, map[string]any{"faults": p.FaultsInForce()})
	case "GET /admin/defects/catalogue":
		adminJSON(w, http.StatusOK, Defects())
	case "POST /admin/tokens", "POST /admin/claims", "GET /admin/claims", "DELETE /admin/claims":
		p.handleAdminClaims(w, r, route)
	case "POST /admin/rp/stimuli", "GET /admin/rp/stimuli", "GET /admin/rp/stimuli/catalogue",
		"GET /admin/rp/observations", "DELETE /admin/rp/observations":
		p.handleAdminRP(w, r, route)
	default:
		adminJSON(w, http.StatusNotFound, map[string]string{"error": "no such admin call: " + truncate(route, 80)})
	}
}

func (p *Provider) adminClock(w http.ResponseWriter) {
	adminJSON(w, http.StatusOK, map[string]any{
		"now":            p.now().UTC().Format(time.RFC3339),
		"offset_seconds": time.Duration(p.offset.Load()).Seconds(),
	})
}

func decodeAdminBody(r *http.Request, into any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return errors.New("the body must be a JSON object such as {\"seconds\": 120}")
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	writeJSONBytes(w, status, body)
}
