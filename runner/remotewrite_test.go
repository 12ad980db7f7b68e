package runner

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"
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
	w, err := NewRemoteWriter(srv.URL+"/api/v1/write", reg, RemoteWriteOptions{Job: "grantbench", Instance: "shard-1",
		Interval: time.Second, Protocol: RemoteWriteV2, Client: srv.Client()})
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
		if _, err := NewRemoteWriter(u, prometheus.NewRegistry(), RemoteWriteOptions{}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := NewRemoteWriter("http://127.0.0.1:1/api/v1/write", prometheus.NewRegistry(), RemoteWriteOptions{Protocol: "v3"}); err == nil {
		t.Error("protocol v3 accepted")
	}
	_, err := NewRemoteWriter("ftp://user:hunter2@127.0.0.1/", prometheus.NewRegistry(), RemoteWriteOptions{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want a refusal that does not repeat the password", err)
	}
}

// v1Series decodes an encoded prometheus.WriteRequest into label maps with the
// sample value under "~value".
func v1Series(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	field := func(b []byte) (protowire.Number, protowire.Type, []byte, uint64, []byte) {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag")
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			return num, typ, v, 0, b[m:]
		case protowire.Fixed64Type:
			v, m := protowire.ConsumeFixed64(b)
			return num, typ, nil, v, b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			return num, typ, nil, v, b[m:]
		}
		t.Fatalf("unexpected wire type %v", typ)
		return 0, 0, nil, 0, nil
	}
	var out []map[string]string
	for rest := data; len(rest) > 0; {
		num, _, ts, _, r := field(rest)
		rest = r
		if num != 1 {
			t.Fatalf("WriteRequest field %d", num)
		}
		labels := map[string]string{}
		for len(ts) > 0 {
			num, _, body, _, r := field(ts)
			ts = r
			switch num {
			case 1:
				_, _, name, _, r := field(body)
				_, _, value, _, _ := field(r)
				labels[string(name)] = string(value)
			case 2:
				_, _, _, bits, _ := field(body)
				labels["~value"] = strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
			}
		}
		out = append(out, labels)
	}
	return out
}

func TestRemoteWriteV1Encoding(t *testing.T) {
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	if _, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: okFlow(clock, 2*time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 4}}}, Options{Clock: clock, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range v1Series(t, buildWriteRequestV1(families, []string{"job", "j", "instance", "i"}, 1000)) {
		if s["job"] != "j" || s["instance"] != "i" || s["__name__"] == "" {
			t.Errorf("series %v", s)
		}
		if s["__name__"] == MetricRequestDuration+"_count" && s["step"] == "token" && s["outcome"] == "ok" {
			found = s["~value"] == "4"
		}
	}
	if !found {
		t.Error("no request duration count of 4 in the v1 request")
	}
}
