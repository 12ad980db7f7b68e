package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExampleAppRefusesBadEnv(t *testing.T) {
	t.Setenv("ISSUER", "http://127.0.0.1:1")
	t.Setenv("CLIENT_ID", "app")
	t.Setenv("REDIRECT_URI", "http://127.0.0.1:2/callback")
	t.Setenv("PORT", "2")
	t.Setenv("BUGS", "skip_iss,no_such_bug")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"example-app"}, &stdout, &stderr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), `"no_such_bug"`) {
		t.Fatalf("err = %v", err)
	}
	var usage bytes.Buffer
	run(context.Background(), []string{"help"}, &usage, &stderr)
	if strings.Contains(usage.String(), "example-app") {
		t.Fatal("the usage lists the hidden example-app")
	}
}

func TestExampleAppServesAndStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Setenv("ISSUER", "http://127.0.0.1:1")
	t.Setenv("CLIENT_ID", "app")
	t.Setenv("REDIRECT_URI", "http://127.0.0.1:"+strconv.Itoa(port)+"/callback")
	t.Setenv("PORT", strconv.Itoa(port))
	t.Setenv("BUGS", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"example-app"}, &stdout, &stderr) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("example-app did not stop")
	}
}
