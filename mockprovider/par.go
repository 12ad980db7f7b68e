package mockprovider

// Pushed authorization requests (RFC 9126): the client POSTs its
// authorization request to the PAR endpoint, authenticated as at the token
// endpoint, and gets a request_uri that stands for it at the authorization
// endpoint: single use, short-lived, and only for the client that pushed it.

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantbench/grantbench/oauth"
)

// RequestURIPrefix begins every request_uri the PAR endpoint issues (RFC
// 9126 2.2 suggests the URN namespace of RFC 9101's request_uri).
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedRequest is an authorization request waiting at its request_uri.
type pushedRequest struct {
	clientID string
	// params are the authorization request parameters as pushed, client
	// authentication removed.
	params url.Values
	exp    time.Time
}

func (r *pushedRequest) expiry() time.Time { return r.exp }

// clientAuthParams are the body parameters of client authentication, which
// belong to the PAR request, not to the authorization request it carries.
var clientAuthParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// requiresPAR reports whether client c must push its authorization requests
// (RFC 9126 5 for the provider, 6 for a client's registration).
func (p *Provider) requiresPAR(c *Client) bool {
	return p.cfg.RequirePushedAuthorizationRequests || c.RequirePushedAuthorizationRequests
}

// handlePAR is the pushed authorization request endpoint (RFC 9126 2): a
// POST authenticated as at the token endpoint, whose parameters are checked
// as the authorization endpoint would check them (2.1), answered 201 with
// request_uri and expires_in (2.2) or an error as at the token endpoint
// (2.3).
func (p *Provider) handlePAR(w http.ResponseWriter, r *http.Request) {
	form, client, ok := p.readClientRequest(w, r)
	if !ok {
		return
	}
	if form.Has("request_uri") {
		// RFC 9126 2.1: the request_uri comes from this endpoint, never to it.
		p.writeJSONError(w, invalidRequest("request_uri must not be sent to the pushed authorization request endpoint (RFC 9126 2.1)"))
		return
	}
	if form.Has("request") {
		p.writeJSONError(w, newError(oauth.RequestNotSupported, "request objects are not supported; push the parameters themselves"))
		return
	}
	if _, ok := p.resolveRedirectURI(client, form.Get("redirect_uri")); !ok {
		p.writeJSONError(w, invalidRequest("redirect_uri is missing or not registered for this client"))
		return
	}
	if _, _, _, _, oerr := p.checkAuthorizeParams(client, form); oerr != nil {
		p.writeJSONError(w, oerr)
		return
	}
	if _, ok := parsePrompt(form.Get("prompt")); !ok {
		p.writeJSONError(w, invalidRequest("prompt=none cannot be combined with other values"))
		return
	}
	params := url.Values{}
	for k, v := range form {
		params[k] = v
	}
	for _, k := range clientAuthParams {
		params.Del(k)
	}
	params.Set("client_id", client.ID)
	now := p.now()
	lifetime := p.cfg.Lifetimes.RequestURI
	requestURI := RequestURIPrefix + newSecret()
	p.store.mu.Lock()
	p.store.pushed.put(keyOf(requestURI), &pushedRequest{clientID: client.ID, params: params, exp: now.Add(lifetime)}, now)
	p.store.mu.Unlock()
	o := newJSONObject(128)
	o.str("request_uri", requestURI)
	o.int("expires_in", int64(p.cfg.Lifetimes.RequestURI/time.Second))
	writeJSONBytes(w, http.StatusCreated, o.bytes())
}

// pushedParams resolves the request_uri of an authorization request for the
// client named by clientID (RFC 9126 4): the pushed parameters replace the
// query's, and the request_uri is used up. An unknown, expired, used or
// another client's request_uri is invalid_request_uri (RFC 9101 7), shown on
// the error page: nothing in the query can be trusted to redirect to.
func (p *Provider) pushedParams(q url.Values, client *Client) (url.Values, *oauthError) {
	uris := q["request_uri"]
	if len(uris) != 1 {
		return nil, invalidRequest("request_uri is repeated")
	}
	uri := uris[0]
	if !strings.HasPrefix(uri, RequestURIPrefix) {
		return nil, newError(oauth.RequestURINotSupported, "only request_uri values from the pushed authorization request endpoint are supported")
	}
	now := p.now()
	k := keyOf(uri)
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	rec, ok := p.store.pushed.get(k)
	switch {
	case !ok:
		return nil, newError(oauth.InvalidRequestURI, "the request_uri is unknown or was already used")
	case !now.Before(rec.exp):
		p.store.pushed.remove(k)
		return nil, newError(oauth.InvalidRequestURI, "the request_uri has expired")
	case rec.clientID != client.ID:
		// RFC 9126 4: the request_uri is bound to the client that pushed it.
		return nil, newError(oauth.InvalidRequestURI, "the request_uri was pushed by another client")
	}
	p.store.pushed.remove(k) // single use (RFC 9126 4, FAPI 2.0 Security Profile 5.3.2.2)
	params := url.Values{}
	for name, v := range rec.params {
		params[name] = v
	}
	// The client presenting it is the one the rest of the request runs as.
	params.Set("client_id", client.ID)
	return params, nil
}
