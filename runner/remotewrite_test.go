package runner

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
)

// receiver is a Remote-Write 2.0 store that keeps the last request.
type receiver struct {
	mu   sync.Mutex
	last *writev2.Request
}

func (r *receiver) Store(req *http.Request, _ remote.WriteMessageType) (*remote.WriteResponse, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var msg writev2.Request
	if err := proto.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.last = &msg
	r.mu.Unlock()
	resp := remote.NewWriteResponse()
	for _, ts := range msg.Timeseries {
		resp.Samples += len(ts.Samples)
		resp.Histograms += len(ts.Histograms)
	}
	return resp, nil
}

// series returns each received series as a label map, with its sample or histogram.
func (r *receiver) series() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, ts := range r.last.GetTimeseries() {
		labels := map[string]string{}
		refs := ts.GetLabelsRefs()
		for i := 0; i+1 < len(refs); i += 2 {
			labels[r.last.Symbols[refs[i]]] = r.last.Symbols[refs[i+1]]
		}
		if len(ts.Histograms) > 0 {
			labels["~kind"] = "native"
		}
		out = append(out, labels)
	}
	return out
}

func TestRemoteWritePushesCountersAndHistograms(t *testing.T) {
	store := &receiver{}
	srv := httptest.NewServer(remote.NewWriteHandler(store, remote.MessageTypes{remote.WriteV2MessageType}))
	defer srv.Close()

	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	if _, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: okFlow(clock, 2*time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 5}}},
		Options{Clock: clock, Registerer: reg, RunID: "rw", Version: "v"}); err != nil {
		t.Fatal(err)
	}
	w, err := NewRemoteWriter(srv.URL+"/api/v1/write", reg, "grantbench", "shard-1", time.Second, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run with a done context pushes once, the final push, and returns
	var pushErr error
	w.Run(ctx, func(err error) { pushErr = err })
	if pushErr != nil {
		t.Fatal(pushErr)
	}
	var sawCounter, sawNative, sawBucket bool
	for _, s := range store.series() {
		if s["job"] != "grantbench" || s["instance"] != "shard-1" {
			t.Errorf("series without job/instance: %v", s)
		}
		switch {
		case s["__name__"] == MetricRequests && s["flow"] == "client_credentials" && s["step"] == "token" && s["outcome"] == "ok" && s["status_class"] == "2xx":
			sawCounter = true
		case s["__name__"] == MetricRequestDuration && s["~kind"] == "native":
			sawNative = true
		case s["__name__"] == MetricRequestDuration+"_bucket" && s["le"] == "+Inf":
			sawBucket = true
		}
	}
	if !sawCounter || !sawNative || !sawBucket {
		t.Errorf("counter %v native histogram %v classic bucket %v: want all three", sawCounter, sawNative, sawBucket)
	}
}

func TestRemoteWriterRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "127.0.0.1:9090", "http://"} {
		if _, err := NewRemoteWriter(u, prometheus.NewRegistry(), "j", "i", 0, nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
