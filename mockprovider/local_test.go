package mockprovider

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestStartBundledServesWithAdminTokenAndDefects(t *testing.T) {
	d := Defects()[0].Name
	client := testConfig(t).Clients[0].ID
	l, err := StartBundled(context.Background(), LocalOptions{AdminToken: true, Defects: []string{d, client + ":" + d}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(l.Issuer(), "http://127.0.0.1:") {
		t.Errorf("issuer %q, want http://127.0.0.1:PORT", l.Issuer())
	}
	if l.AdminToken == "" || !slices.Contains(l.Secrets(), l.AdminToken) {
		t.Errorf("admin token %q missing from Secrets %d entries", l.AdminToken, len(l.Secrets()))
	}
	if !slices.Contains(l.Config.Defects, d) || !slices.Contains(l.Config.Clients[0].Defects, d) {
		t.Errorf("defect %s not applied: provider %v, client %v", d, l.Config.Defects, l.Config.Clients[0].Defects)
	}
	resp, err := http.Get(l.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery: %d", resp.StatusCode)
	}
}

func TestStartBundledRefusesUnknownDefectsAndClients(t *testing.T) {
	for _, defect := range []string{"no-such-defect", "no-such-client:" + Defects()[0].Name} {
		l, err := StartBundled(context.Background(), LocalOptions{Defects: []string{defect}})
		if err == nil {
			l.Close()
			t.Errorf("%s: started", defect)
			continue
		}
		if !errors.Is(err, ErrLocalConfig) || !strings.Contains(err.Error(), "no-such") {
			t.Errorf("%s: error %v, want ErrLocalConfig naming it", defect, err)
		}
	}
}

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
