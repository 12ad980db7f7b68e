package flows

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
)

// countingTransport counts the requests a custom transport was given.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// TestPreparedKeepsACustomTransport: a prepared request to a plain-HTTP
// endpoint goes over internal/h1client, unless SetTransport gave the target a
// transport of its own, which must then see every request.
func TestPreparedKeepsACustomTransport(t *testing.T) {
	ctx := context.Background()
	ep := newCapturingEndpoint(t)
	for _, custom := range []bool{false, true} {
		tg := ep.target()
		ct := &countingTransport{base: http.DefaultTransport}
		if custom {
			tg.SetTransport(ct)
		}
		p, err := PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (p.wire != nil) == custom {
			t.Errorf("custom transport %v: wire client in use %v", custom, p.wire != nil)
		}
		before := ct.n.Load() // discovery went through it too
		tok, step, err := p.Send(ctx, nil)
		if err != nil || tok.AccessToken != "at" || step.Status != 200 {
			t.Fatalf("custom transport %v: %+v %+v %v", custom, tok, step, err)
		}
		if got := ct.n.Load() - before; custom && got != 1 {
			t.Errorf("the custom transport saw %d requests, want 1", got)
		}
		tg.CloseIdleConnections()
	}
}

// TestPreparedTokensOutliveTheReadBuffer: the response is parsed without
// copying, so what Send returns and every error must be copies; Check judges
// the same way.
func TestPreparedTokensOutliveTheReadBuffer(t *testing.T) {
	ctx := context.Background()
	ep := newCapturingEndpoint(t)
	tg := ep.target()
	defer tg.CloseIdleConnections()
	p, err := PrepareClientCredentials(ctx, tg, ClientCredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep.respond(200, "application/json", `{"access_token":"first-token","token_type":"Bearer","refresh_token":"r1"}`)
	first, _, err := p.Send(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep.respond(400, "application/json", `{"error":"invalid_grant","error_description":"nope"}`)
	_, _, errSend := p.Send(ctx, nil)
	var oe *OAuthError
	if !errors.As(errSend, &oe) {
		t.Fatalf("error %v, want an OAuthError", errSend)
	}
	ep.respond(200, "application/json", `{"access_token":"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","token_type":"XXXXXX","refresh_token":"XX"}`)
	if _, err := p.Check(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if first.AccessToken != "first-token" || first.RefreshToken != "r1" || oe.Code != "invalid_grant" || oe.Description != "nope" {
		t.Errorf("later responses overwrote earlier values: %+v, %+v", first, oe)
	}
	ep.respond(200, "application/json", `{"token_type":"Bearer"}`)
	if step, err := p.Check(ctx, nil); err == nil || step.Status != 200 {
		t.Errorf("Check passed a response without access_token: %+v", step)
	}
	ep.respond(200, "application/json", `{"access_token":"a","token_type":"Bearer"} trailing`)
	if _, err := p.Check(ctx, nil); err == nil {
		t.Error("Check passed a response with trailing bytes")
	}
}
