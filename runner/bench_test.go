package runner

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

// BenchmarkRecordIteration is the runner's cost per finished iteration: counts,
// HDR histograms, Prometheus children and the per-second series.
func BenchmarkRecordIteration(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	rec := newScenarioRecorder("client_credentials", m)
	t0 := time.Now()
	series := newSeriesRecorder(t0)
	steps := []trace.Step{{Name: "token", Start: t0, End: t0.Add(800 * time.Microsecond), Status: 200}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		end := t0.Add(time.Duration(i) * time.Microsecond)
		rec.record(iteration{intended: t0, started: t0, ended: end, open: true, steps: steps, outcome: loadresult.OutcomeOK})
		series.record(end, time.Millisecond, 1, loadresult.OutcomeOK)
	}
}

// BenchmarkClosedModelOverhead runs a flow that does nothing, so what it measures
// is the scheduling and recording overhead per iteration of the closed model.
func BenchmarkClosedModelOverhead(b *testing.B) {
	flow := funcFlow{name: "client_credentials", run: func(context.Context) ([]trace.Step, error) {
		now := time.Now()
		return []trace.Step{{Name: "token", Start: now, End: now, Status: 200}}, nil
	}}
	b.ReportAllocs()
	b.ResetTimer()
	_, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 4, Iterations: int64(b.N)}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenModelOverhead is the same for the open model at a rate far above
// what the machine can schedule, so the scheduler never sleeps.
func BenchmarkOpenModelOverhead(b *testing.B) {
	flow := funcFlow{name: "client_credentials", run: func(context.Context) ([]trace.Step, error) {
		now := time.Now()
		return []trace.Step{{Name: "token", Start: now, End: now, Status: 200}}, nil
	}}
	clock := newFakeClock()
	b.ReportAllocs()
	b.ResetTimer()
	_, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: float64(b.N), Duration: time.Second, MaxInFlight: 1 << 20}}},
		Options{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
}
