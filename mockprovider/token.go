package mockprovider

import (
	"net/http"
	"net/url"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// handleToken is the token endpoint (RFC 6749 3.2): POST, form-encoded,
// client authenticated, then dispatched by grant_type.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	hint := "" // the client the request names, for defects before authentication
	if p.defects.Load().any {
		hint = clientHint(r, r.URL.Query())
	}
	noStore := !p.defectFor(hint, dNoCacheHeaders)
	if r.ContentLength > p.cfg.Limits.MaxBodyBytes && p.defectFor(hint, dLargeBodyReset) {
		panic(http.ErrAbortHandler) // net/http closes the connection, answering nothing
	}
	form, oerr := p.readTokenForm(r, hint)
	if oerr != nil {
		// Only a body that fails to parse crashes (not a GET, nor parameters
		// in the query, which C7 judges).
		if oerr.status != http.StatusMethodNotAllowed && r.URL.RawQuery == "" && p.defectFor(hint, dPanicOnBadInput) {
			// A real crash, as a parser that trusts its input has: the
			// provider's recovery lets it through to net/http, which logs it
			// and drops the connection without a response.
			panic(badInputPanic{reason: oerr.description})
		}
		if oerr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		p.writeError(w, oerr, noStore)
		return
	}
	client, oerr := p.authenticateClient(r, form)
	if oerr != nil {
		p.rpSeeUnauthenticatedToken(r, form, oerr, p.now())
		p.writeError(w, oerr, noStore && !p.defectFor(oerr.clientID, dNoCacheHeaders))
		return
	}
	noStore = !p.defect(client, dNoCacheHeaders)
	now := p.now()
	grantType := form.Get("grant_type")
	var watch *rpTokenWatch // observations for `grantbench rp` (rpobserve.go)
	if rpObservedGrant(grantType) {
		watch = p.rpWatchToken(w, r, client, form, now)
		defer watch.done()
		w = watch
	}
	var resp tokenResponse
	if p.rpTokenStimulus(w, r, client, grantType, noStore) {
		return
	}
	switch grantType {
	case "":
		oerr = invalidRequest("grant_type is required")
	case GrantClientCredentials:
		resp, oerr = p.grantClientCredentials(client, form, now)
	case GrantAuthorizationCode:
		resp, oerr = p.grantAuthorizationCode(client, form, now)
	case GrantRefreshToken:
		resp, oerr = p.grantRefreshToken(client, form, now)
	case GrantPassword:
		resp, oerr = p.grantPassword(client, form, now)
	case DeviceCodeGrantURN:
		grantType = GrantDeviceCode
		resp, oerr = p.grantDeviceCode(client, form, now)
	case TokenExchangeGrantURN:
		grantType = GrantTokenExchange
		resp, oerr = p.grantTokenExchange(client, form, now)
	case JWTBearerGrantURN:
		grantType = GrantJWTBearer
		resp, oerr = p.grantJWTBearer(r.Context(), client, form, now)
	default:
		oerr = newError(oauth.UnsupportedGrantType, "grant_type "+truncate(grantType, 60)+" is not supported")
		if p.defect(client, dWrongErrorCode) {
			oerr.code = "unknown_grant" // deliberately not a registered code
		}
	}
	if oerr != nil {
		watch.failed(oerr)
		p.writeError(w, oerr, noStore)
		return
	}
	p.counters.countGrant(grantType)
	p.rpBendTokenResponse(client, grantType, &resp)
	writeTokenResponse(w, resp, noStore)
}

// readTokenForm reads the token request: POST with a form body. The
// token_get_allowed defect also takes GET and parameters in the query.
func (p *Provider) readTokenForm(r *http.Request, hint string) (url.Values, *oauthError) {
	if !p.defectFor(hint, dTokenGetAllowed) {
		if r.Method != http.MethodPost {
			return nil, &oauthError{code: oauth.InvalidRequest, description: "method not allowed; use POST", status: http.StatusMethodNotAllowed}
		}
		return p.readForm(r)
	}
	query := r.URL.Query()
	form := url.Values{}
	if r.Method == http.MethodPost {
		stripped := *r
		u := *r.URL
		u.RawQuery = ""
		stripped.URL = &u
		var oerr *oauthError
		if form, oerr = p.readForm(&stripped); oerr != nil {
			return nil, oerr
		}
	}
	for k, v := range query {
		if _, inBody := form[k]; !inBody {
			form[k] = v[:1]
		}
	}
	return form, nil
}

// raceWindow is how long the code_race and refresh_race defects leave
// between checking a code or token and marking it used.
const raceWindow = 250 * time.Millisecond

// markUsedLate is the code_race and refresh_race defects: the code or token was
// checked under the lock, and is marked used only a moment later, so parallel
// requests all pass the check.
func (p *Provider) markUsedLate(used *bool) {
	time.Sleep(raceWindow)
	p.store.mu.Lock()
	*used = true
	p.store.mu.Unlock()
}
