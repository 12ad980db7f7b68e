package loadresult

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// histogramOf builds a Histogram holding the given latencies.
func histogramOf(t *testing.T, latencies ...time.Duration) Histogram {
	t.Helper()
	h := NewHDR()
	for _, d := range latencies {
		RecordDuration(h, d)
	}
	return Summarize(h)
}

func sampleResult(t *testing.T, runID string, start time.Time, latencies ...time.Duration) *Result {
	t.Helper()
	lat := histogramOf(t, latencies...)
	return &Result{
		Schema: ResultSchema, RunID: runID, Version: "test", Target: "http://127.0.0.1:1",
		Start: start, End: start.Add(10 * time.Second),
		Scenarios: []ScenarioResult{{
			Name: "cc", Flow: "client_credentials", Executor: "constant-arrival-rate", Weight: 1,
			TargetRate: 10, MaxInFlight: 4, PlannedSeconds: 10, ElapsedSeconds: 10,
			Started: int64(len(latencies)), Dropped: map[string]int64{DroppedMaxInFlight: 1},
			Flows:        map[string]int64{OutcomeOK: int64(len(latencies)) - 1, OutcomeOAuthError: 1},
			AchievedRate: float64(len(latencies)) / 10,
			Latency:      lat, ServiceTime: lat, ScheduleLag: histogramOf(t),
			Steps: []StepResult{{
				Name: "token",
				Requests: []RequestCount{
					{Outcome: OutcomeOAuthError, StatusClass: "4xx", OAuthError: "invalid_client", Count: 1},
					{Outcome: OutcomeOK, StatusClass: "2xx", Count: int64(len(latencies)) - 1},
				},
				Latency: lat, ServiceTime: lat,
			}},
		}},
		Series:     []Point{{Time: start, Flows: int64(len(latencies)), HDR: lat.HDR}},
		Thresholds: []Verdict{{Threshold: "cc:p99<25ms"}, {Threshold: "rate>=0.9*target"}},
	}
}

func TestResultRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := sampleResult(t, "a", start, 10*time.Millisecond, 20*time.Millisecond)
	path := filepath.Join(t.TempDir(), "out", "load.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Fatalf("round trip changed the result:\nwrote %+v\nread  %+v", r, back)
	}
	h, err := back.Scenarios[0].Latency.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 2 || h.Max() < 19_900 {
		t.Fatalf("decoded histogram: count %d max %dµs, want 2 and ~20000", h.TotalCount(), h.Max())
	}
}

func TestReadResultRejectsOtherJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := (&Result{}).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResult(path); err == nil {
		t.Fatal("a file without schema was accepted")
	}
}

func TestMergeAddsCountsAndMergesHistogramsExactly(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := sampleResult(t, "a", start, 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond)
	b := sampleResult(t, "b", start.Add(time.Second), 30*time.Millisecond, 30*time.Millisecond, 30*time.Millisecond)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.MergedRunIDs; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("merged run ids %v", got)
	}
	sc := m.Scenarios[0]
	if sc.Started != 6 || sc.Flows[OutcomeOK] != 4 || sc.Flows[OutcomeOAuthError] != 2 || sc.Dropped[DroppedMaxInFlight] != 2 {
		t.Errorf("counts not added: %+v", sc)
	}
	if sc.TargetRate != 20 {
		t.Errorf("target rate %v, want the shards' sum 20", sc.TargetRate)
	}
	if sc.Latency.Count != 6 || sc.Latency.P50Seconds < 0.0099 || sc.Latency.P50Seconds > 0.0101 || sc.Latency.MaxSeconds < 0.0299 {
		t.Errorf("latency not merged: %+v", sc.Latency)
	}
	if len(sc.Steps) != 1 || len(sc.Steps[0].Requests) != 2 || sc.Steps[0].Requests[1].Count != 4 {
		t.Errorf("steps not merged: %+v", sc.Steps)
	}
	if len(m.Series) != 2 || m.Series[1].Second != 1 || m.Series[1].P99Seconds < 0.0299 {
		t.Errorf("series not aligned: %+v", m.Series)
	}
	// The thresholds were judged again on the merged data: p99 is now 30ms > 25ms.
	if len(m.Thresholds) != 2 || m.Thresholds[0].Passed || m.Thresholds[0].Display != "30.0ms" {
		t.Errorf("merged verdict %+v", m.Thresholds)
	}
	// A's own data still passes: merging did not modify its inputs.
	if a.Scenarios[0].Started != 3 || a.Scenarios[0].Flows[OutcomeOK] != 2 {
		t.Errorf("merge modified its input: %+v", a.Scenarios[0])
	}
}

func TestMergeRejectsConflictingScenarios(t *testing.T) {
	start := time.Now()
	a := sampleResult(t, "a", start, time.Millisecond)
	b := sampleResult(t, "b", start, time.Millisecond)
	b.Scenarios[0].Flow = "refresh"
	if _, err := Merge(a, b); err == nil {
		t.Fatal("merged a scenario replaying two different flows")
	}
	if _, err := Merge(); err == nil {
		t.Fatal("merged nothing")
	}
	b = sampleResult(t, "b", start, time.Millisecond)
	b.Scenarios[0].Latency.HDR = "not an histogram"
	if _, err := Merge(a, b); err == nil {
		t.Fatal("merged a corrupt histogram")
	}
}

func TestRecordDurationClampsOutliers(t *testing.T) {
	h := NewHDR()
	RecordDuration(h, 2*time.Hour)
	RecordDuration(h, 0)
	if h.TotalCount() != 2 {
		t.Fatalf("outliers lost: count %d", h.TotalCount())
	}
}
