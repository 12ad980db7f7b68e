package runner

import (
	"math"
	"testing"
	"time"
)

func offsets(t *testing.T, p pacer) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := int64(0); i < 1_000_000; i++ {
		d, ok := p.offset(i)
		if !ok {
			return out
		}
		out = append(out, d)
	}
	t.Fatal("pacer never ended")
	return nil
}

func TestConstantPacer(t *testing.T) {
	for _, tc := range []struct {
		rate     float64
		duration time.Duration
		want     int
		third    time.Duration
	}{
		{10, time.Second, 10, 200 * time.Millisecond},
		{3, time.Second, 3, 666_666_666},
		{1000, 2 * time.Second, 2000, 2 * time.Millisecond},
		{0.5, 5 * time.Second, 3, 4 * time.Second},
	} {
		p := newConstantPacer(tc.rate, tc.duration)
		got := offsets(t, p)
		if len(got) != tc.want || int64(len(got)) != p.plannedIterations() {
			t.Errorf("rate %v for %v: %d iterations (planned %d), want %d", tc.rate, tc.duration, len(got), p.plannedIterations(), tc.want)
			continue
		}
		if got[0] != 0 || got[2] != tc.third {
			t.Errorf("rate %v: offsets start %v, %v, %v; want 0, ..., %v", tc.rate, got[0], got[1], got[2], tc.third)
		}
		if last := got[len(got)-1]; last >= tc.duration {
			t.Errorf("rate %v: last offset %v not before the end %v", tc.rate, last, tc.duration)
		}
	}
}

func near(a, b time.Duration) bool { return math.Abs(float64(a-b)) <= float64(time.Microsecond) }

func TestRampingPacerFromZero(t *testing.T) {
	// 0 -> 10/s over 10 s: N(t) = t²/2, so iteration i starts at √(2i) s.
	p := newRampingPacer(0, []Stage{{Duration: 10 * time.Second, Target: 10}})
	got := offsets(t, p)
	if len(got) != 50 || p.plannedIterations() != 50 {
		t.Fatalf("%d iterations, want 50 (the area under the ramp)", len(got))
	}
	for i, want := range map[int]time.Duration{0: 0, 2: 2 * time.Second, 8: 4 * time.Second, 32: 8 * time.Second} {
		if !near(got[i], want) {
			t.Errorf("iteration %d at %v, want %v", i, got[i], want)
		}
	}
}

func TestRampingPacerUpAndDown(t *testing.T) {
	// Hold 10/s for 10 s (100 iterations), then fall to 0 over 10 s (50 more).
	p := newRampingPacer(10, []Stage{{Duration: 10 * time.Second, Target: 10}, {Duration: 10 * time.Second, Target: 0}})
	got := offsets(t, p)
	if len(got) != 150 {
		t.Fatalf("%d iterations, want 150", len(got))
	}
	if !near(got[100], 10*time.Second) {
		t.Errorf("iteration 100 at %v, want 10s", got[100])
	}
	// 25 iterations into the fall: 10t − t²/2 = 25, t = 10 − √50.
	want := 10*time.Second + time.Duration((10-math.Sqrt(50))*float64(time.Second))
	if !near(got[125], want) {
		t.Errorf("iteration 125 at %v, want %v", got[125], want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("offsets go backwards at %d: %v < %v", i, got[i], got[i-1])
		}
	}
}

func TestRampingPacerSkipsIdleStages(t *testing.T) {
	p := newRampingPacer(0, []Stage{{Duration: 10 * time.Second, Target: 0}, {Duration: 10 * time.Second, Target: 10}})
	got := offsets(t, p)
	if len(got) != 50 || got[0] != 10*time.Second {
		t.Errorf("%d iterations, first at %v; want 50, the first at 10s (nothing while the rate is 0)", len(got), got[0])
	}
	if n := newRampingPacer(0, []Stage{{Duration: time.Second, Target: 0}}).plannedIterations(); n != 0 {
		t.Errorf("a zero ramp plans %d iterations", n)
	}
}

// TestPacersEndAtOnceOnAbsurdRates is the regression test of issue 13: a rate of
// 1e-10 overflowed time.Duration into negative offsets, and counting the plan
// looped forever at 100 % CPU in setup. Every absurd rate must give a finite
// plan at once, whether or not validation would let it through.
func TestPacersEndAtOnceOnAbsurdRates(t *testing.T) {
	for _, rate := range []float64{1e-10, 1e300, 1e-300, 1e12, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(), -1} {
		done := make(chan int64, 2)
		go func() {
			ex := Executor{Kind: ExecutorConstantArrivalRate, Rate: rate, Duration: 10 * time.Second}
			done <- plannedIterations(ex)
			ramp := Executor{Kind: ExecutorRampingArrivalRate, StartRate: rate, Stages: []Stage{{Duration: 10 * time.Second, Target: rate}}}
			done <- plannedIterations(ramp)
		}()
		for _, kind := range []string{"constant", "ramping"} {
			select {
			case n := <-done:
				if n < 0 {
					t.Errorf("%s rate %v: %d planned iterations", kind, rate, n)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s rate %v: counting the plan did not end", kind, rate)
			}
		}
	}
	// The offsets of a tiny rate stay inside the schedule.
	p := newConstantPacer(1e-10, 10*time.Second)
	if d, ok := p.offset(0); !ok || d != 0 || p.plannedIterations() != 1 {
		t.Errorf("rate 1e-10 for 10s: first offset %v %v, planned %d; want one iteration at 0", d, ok, p.plannedIterations())
	}
	if _, ok := p.offset(1); ok {
		t.Error("rate 1e-10 for 10s has a second iteration")
	}
}

// checkPacer asserts what every pacer promises for any input: a plan no bigger
// than the cap, offsets in [0, end) that never go backwards, and no iteration
// past the plan.
func checkPacer(t *testing.T, p pacer, end time.Duration) {
	t.Helper()
	n := p.plannedIterations()
	if n < 0 || n > maxPacedIterations {
		t.Fatalf("planned %d", n)
	}
	if _, ok := p.offset(n); ok {
		t.Fatalf("offset(%d) exists past the plan of %d", n, n)
	}
	if _, ok := p.offset(-1); ok {
		t.Fatal("offset(-1) exists")
	}
	// The first, the last and a sample between, each with its successor.
	for _, i := range []int64{0, 1, n / 3, n / 2, n - 2, n - 1} {
		if i < 0 || i >= n {
			continue
		}
		d, ok := p.offset(i)
		if !ok || d < 0 || (end > 0 && d >= end) {
			t.Fatalf("offset(%d) = %v, %v; want one in [0, %v)", i, d, ok, end)
		}
		if next, ok := p.offset(i + 1); ok && next < d {
			t.Fatalf("offset(%d) = %v before offset(%d) = %v", i+1, next, i, d)
		}
	}
}

func FuzzPacer(f *testing.F) {
	for _, rate := range []float64{10, 1e-10, 1e300, 1e-300, 1e12, 0.5, 3} {
		f.Add(rate, int64(10*time.Second), rate, rate, int64(time.Second), int64(time.Second))
	}
	f.Add(0.0, int64(0), 0.0, 10.0, int64(-1), int64(math.MaxInt64))
	f.Add(math.Inf(1), int64(math.MaxInt64), math.NaN(), math.Inf(-1), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, rate float64, duration int64, startRate, target float64, stage1, stage2 int64) {
		d := time.Duration(duration)
		checkPacer(t, newConstantPacer(rate, d), d)
		stages := []Stage{{Duration: time.Duration(stage1), Target: target}, {Duration: time.Duration(stage2), Target: rate}}
		ramp := newRampingPacer(startRate, stages)
		checkPacer(t, ramp, ramp.end)
	})
}
