package mockprovider

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// userCodeAlphabet has no vowels (no words) and no look-alike characters
// (RFC 8628 6.1): 20^8 codes, about 34.5 bits, enough for a code that lives
// minutes and is bound to one pending device request.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	var b [8]byte
	out := make([]byte, 0, 9)
	for len(out) < 9 {
		_, _ = rand.Read(b[:])
		for _, c := range b {
			// Rejection sampling keeps the distribution uniform: 240 = 12*20.
			if c >= 240 {
				continue
			}
			if len(out) == 4 {
				out = append(out, '-')
			}
			out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
			if len(out) == 9 {
				break
			}
		}
	}
	return string(out)
}

// normalizeUserCode accepts what a person types: any case, dashes, spaces.
func normalizeUserCode(s string) string {
	s = strings.ToUpper(s)
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 16; i++ {
		if c := s[i]; strings.IndexByte(userCodeAlphabet, c) >= 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// handleDeviceAuthorization is RFC 8628 3.1 and 3.2.
func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, client, ok := p.readClientRequest(w, r)
	if !ok {
		return
	}
	if !p.allows(client, GrantDeviceCode) {
		p.writeJSONError(w, unauthorizedClient("this client may not use the device grant"))
		return
	}
	scopes, oerr := p.resolveScope(client, form.Get("scope"))
	if oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	now := p.now()
	deviceCode := p.newSecretFor(client)
	lifetime := p.cfg.Lifetimes.DeviceCode
	if p.defect(client, dDeviceCodeNeverExpires) {
		lifetime = farFuture // expires_in below still says the configured lifetime
	}
	rec := &deviceRecord{clientID: client.ID, scopes: scopes,
		exp: now.Add(lifetime), interval: p.cfg.Lifetimes.DevicePollInterval}
	p.store.mu.Lock()
	// A user code must point at one device request: draw again on a clash.
	userCode := newUserCode()
	for tries := 0; tries < 8 && p.store.userCodes.has(keyOf(normalizeUserCode(userCode))); tries++ {
		userCode = newUserCode()
	}
	rec.userCode = userCode
	p.store.devices.put(keyOf(deviceCode), rec, now)
	p.store.userCodes.put(keyOf(normalizeUserCode(userCode)), rec, now)
	p.store.mu.Unlock()
	p.counters.countIssued(issuedDeviceCode)

	o := newJSONObject(512)
	o.str("device_code", deviceCode)
	o.str("user_code", userCode)
	o.str("verification_uri", p.issuer+"/device")
	o.str("verification_uri_complete", p.issuer+"/device?user_code="+url.QueryEscape(userCode))
	o.int("expires_in", int64(p.cfg.Lifetimes.DeviceCode/time.Second))
	o.int("interval", int64(p.cfg.Lifetimes.DevicePollInterval/time.Second))
	writeJSONBytes(w, http.StatusOK, o.bytes())
}

// handleDevicePage is the verification page (RFC 8628 3.3): enter the user
// code (pre-filled from verification_uri_complete), log in, then approve or
// deny on the consent page.
func (p *Provider) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		p.renderPage(w, r, http.StatusOK, "device", pageData{Title: "Connect a device",
			UserCode: truncate(r.URL.Query().Get("user_code"), 16)})
		return
	}
	form, ok := p.readPageForm(w, r)
	if !ok {
		return
	}
	now := p.now()
	code := normalizeUserCode(form.Get("user_code"))
	var rec *deviceRecord
	if code != "" {
		p.store.mu.Lock()
		if found, ok := p.store.userCodes.get(keyOf(code)); ok && found.status == devicePending && now.Before(found.exp) {
			rec = found
		}
		p.store.mu.Unlock()
	}
	if rec == nil {
		p.renderPage(w, r, http.StatusOK, "device", pageData{Title: "Connect a device",
			UserCode: truncate(form.Get("user_code"), 16), Error: "That code is unknown, expired or already used."})
		return
	}
	in := &interaction{kind: interactionDevice, exp: minTime(now.Add(p.cfg.Lifetimes.Interaction), rec.exp),
		client: p.client(rec.clientID), scopes: rec.scopes, device: rec}
	id := p.saveInteraction(in, now)
	setPageHeaders(w.Header(), p.defect(in.client, dFrameableLogin))
	http.Redirect(w, r, p.basePath+"/consent?interaction="+url.QueryEscape(id), http.StatusSeeOther)
}

// decideDevice records the user's decision for the polling device.
func (p *Provider) decideDevice(w http.ResponseWriter, r *http.Request, in *interaction, s *sessionRecord, approve bool, now time.Time) {
	result := "denied"
	p.store.mu.Lock()
	rec := in.device
	live := rec.status == devicePending && now.Before(rec.exp)
	if live {
		switch {
		case approve:
			rec.status, rec.user, rec.authTime, result = deviceApproved, s.user, s.authTime, "approved"
		case p.defect(in.client, dDeviceDenyIgnored):
			// The defect: the denial is shown but not recorded.
		default:
			rec.status = deviceDenied
		}
		// The user code has served its purpose.
		p.store.userCodes.remove(keyOf(normalizeUserCode(rec.userCode)))
	}
	p.store.mu.Unlock()
	if !live {
		p.renderError(w, r, oauth.ExpiredToken, "the device request expired or was already decided")
		return
	}
	page := "device-done"
	if result == "denied" && p.cfg.Behaviour.DeviceDeniedPage {
		page = "device-denied"
	}
	p.renderPage(w, r, http.StatusOK, page, pageData{Title: "Device " + result, Result: result, client: in.client})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
