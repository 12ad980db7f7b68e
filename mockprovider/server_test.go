package mockprovider

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestCloseDropsSilentConnections: a connection that never sent a request (a
// browser opens them ahead of use) must not hold Close for the 5 s
// http.Server.Shutdown grants such connections; a served request still gets
// its answer before.
func TestCloseDropsSilentConnections(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartLocal(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	silent, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it

	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took >= 4*time.Second {
		t.Errorf("Close took %v: it waited out the silent connection", took)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Error("the silent connection is still open after Close")
	}
}
