package flows

// Pushed authorization requests on the client side (RFC 9126): the
// authorization request's parameters go to the PAR endpoint in a POST that
// authenticates the client, and the front channel carries only client_id and
// the request_uri that comes back.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// PushedRequest is a PAR endpoint's answer (RFC 9126 2.2).
type PushedRequest struct {
	RequestURI string
	ExpiresIn  time.Duration
}

// maxPARResponse bounds what a PAR response may hold.
const maxPARResponse = 64 << 10

// PushAuthorization sends params (an authorization request's parameters) to
// the target's pushed_authorization_request_endpoint as the client of role,
// authenticated as at the token endpoint (RFC 9126 2), step "par". A 201
// with request_uri is a *PushedRequest; an error response an *OAuthError.
func PushAuthorization(ctx context.Context, t *Target, role Role, params url.Values) (*PushedRequest, *Result, error) {
	r, err := begin(ctx, t, FlowAuthCode, role, RecordAll)
	if err != nil {
		res, err := r.done(err)
		return nil, res, err
	}
	pr, err := r.push(ctx, params)
	res, err := r.done(err)
	return pr, res, err
}

// push is PushAuthorization within a flow.
func (r *run) push(ctx context.Context, params url.Values) (*PushedRequest, error) {
	endpoint := r.md.PushedAuthorizationRequestEndpoint
	if endpoint == "" {
		return nil, &UnsupportedError{What: "pushed authorization requests (no pushed_authorization_request_endpoint in its metadata)"}
	}
	form, err := r.t.withClientAssertion(ctx, r.client, params)
	if err != nil {
		return nil, err
	}
	form.Set("client_id", r.client.ClientID)
	if r.client.method() == AuthClientSecretPost {
		form.Set("client_secret", r.client.ClientSecret)
	}
	var basic *Client
	if r.client.method() == AuthClientSecretBasic {
		basic = r.client
	}
	stepCtx := r.t.oauthContextAuth(ctx, r.rec, "par", basic)
	hc, _ := stepCtx.Value(oauth2.HTTPClient).(*http.Client)
	req, err := http.NewRequestWithContext(stepCtx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &ResponseError{Step: "par", Reason: "bad pushed_authorization_request_endpoint", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if te := r.rec.takeTransportErr(); te != nil {
			err = te
		}
		return nil, &TransportError{Step: "par", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPARResponse))
	if err != nil {
		return nil, &TransportError{Step: "par", Err: err}
	}
	var answer struct {
		RequestURI       string      `json:"request_uri"`
		ExpiresIn        json.Number `json:"expires_in"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
		ErrorURI         string      `json:"error_uri"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		if jsonErr == nil && answer.Error != "" {
			return nil, &OAuthError{Step: "par", Status: resp.StatusCode, Code: answer.Error, Description: answer.ErrorDescription, URI: answer.ErrorURI}
		}
		return nil, &ResponseError{Step: "par", Status: resp.StatusCode, Reason: "error status without an OAuth error code"}
	}
	if jsonErr != nil {
		return nil, &ResponseError{Step: "par", Status: resp.StatusCode, Reason: "the PAR response is not JSON", Err: jsonErr}
	}
	if answer.RequestURI == "" {
		return nil, &ResponseError{Step: "par", Status: resp.StatusCode, Reason: "the PAR response has no request_uri (RFC 9126 2.2)"}
	}
	pr := &PushedRequest{RequestURI: answer.RequestURI}
	if n, err := answer.ExpiresIn.Int64(); err == nil && n > 0 {
		pr.ExpiresIn = time.Duration(n) * time.Second
	}
	return pr, nil
}

// pushedAuthorizeURL is the authorization request of RFC 9126 4: the
// authorization endpoint with client_id and request_uri only.
func pushedAuthorizeURL(endpoint, clientID, requestURI string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", &ResponseError{Step: "authorize", Reason: "bad authorization endpoint", Err: err}
	}
	if u.Scheme == "" || u.Host == "" {
		return "", &ResponseError{Step: "authorize", Reason: "bad authorization endpoint", Err: errors.New("not an absolute URL")}
	}
	q := u.Query()
	q.Set("client_id", clientID)
	q.Set("request_uri", requestURI)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
