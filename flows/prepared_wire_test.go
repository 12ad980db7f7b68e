package flows

import (
	"context"
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
