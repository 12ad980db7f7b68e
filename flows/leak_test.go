package flows

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

// TestFlowsLeaveNoGoroutines: once the target's idle connections are closed,
// nothing a flow started (callback listener, recorders, x/oauth2 calls) is left
// running.
func TestFlowsLeaveNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakeProvider(t)
	tg := f.target()
	ctx := context.Background()
	for range 3 {
		if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Record: RecordTrace}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Refresh(ctx, tg, RoleConfidential, "unknown", RefreshOptions{}); ErrorCode(err) != "invalid_grant" {
		t.Fatal(err)
	}
	l, err := ListenCallback("http://127.0.0.1/cb")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	tg.CloseIdleConnections()
	f.srv.Close()
}
