package runner

import (
	"math"
	"time"
)

// pacer is the arithmetic of an open-model schedule: when iteration i (counting
// from 0) is meant to start, relative to the start of the scenario. It is pure,
// so the schedule is tested without clocks.
//
// Every pacer is total: for any rate and duration, even ones the plan's
// validation refuses (NaN, ±Inf, 1e300, 1e-300), construction ends at once, the
// planned count is finite, offsets are never negative, never reach the duration
// and never decrease. The arithmetic runs in float64 seconds and converts to a
// time.Duration only once a value is known to fit; a float too big for an int64
// converts to an undefined value in Go (on amd64 the most negative int64), which
// once turned a rate of 1e-10 into an endless loop of negative offsets.
type pacer interface {
	// offset returns iteration i's intended start; ok is false when the plan
	// has no iteration i.
	offset(i int64) (d time.Duration, ok bool)
	// plannedIterations is how many iterations the plan holds.
	plannedIterations() int64
}

// maxPacedIterations caps a pacer's plan: 2^53 is the largest count whose every
// index float64 holds exactly, which keeps offsets monotonic. Validation keeps
// real plans far below it (MaxRate for MaxDuration is under 2^37).
const maxPacedIterations = int64(1) << 53

// durationOf converts nanoseconds held in a float64 to a time.Duration,
// saturating instead of overflowing; NaN and negatives are 0.
func durationOf(ns float64) time.Duration {
	switch {
	case !(ns > 0):
		return 0
	case ns >= math.MaxInt64: // float64(MaxInt64) is 2^63, one past the largest int64
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// constantPacer starts one iteration every 1/rate seconds for duration. Offsets
// are computed from i, not accumulated, so rounding never drifts the schedule.
type constantPacer struct {
	rate     float64
	duration time.Duration
	planned  int64
}

func newConstantPacer(rate float64, duration time.Duration) constantPacer {
	p := constantPacer{rate: rate, duration: duration}
	if !(rate > 0) || duration <= 0 { // also NaN
		return p
	}
	// Iterations at 0, 1/rate, ... strictly before duration: the first i whose
	// offset reaches the duration. Estimate it, then correct the float
	// rounding of the estimate by a step or two (at) ; at is monotonic in i.
	estimate := math.Ceil(duration.Seconds() * rate)
	if !(estimate < float64(maxPacedIterations)) {
		p.planned = maxPacedIterations
		return p
	}
	n := max(int64(estimate), 1)
	for n > 1 && p.at(n-1) >= float64(duration) {
		n--
	}
	for n < maxPacedIterations && p.at(n) < float64(duration) {
		n++
	}
	p.planned = n
	return p
}

// at is iteration i's offset in nanoseconds, unconverted.
func (p constantPacer) at(i int64) float64 { return float64(i) * float64(time.Second) / p.rate }

func (p constantPacer) offset(i int64) (time.Duration, bool) {
	if i < 0 || i >= p.planned {
		return 0, false
	}
	// Within the plan the offset is below the duration, so it fits; the min
	// only guards the float rounding at the cap.
	return min(durationOf(p.at(i)), p.duration-1), true
}

func (p constantPacer) plannedIterations() int64 { return p.planned }

// rampingPacer moves the rate linearly from stage to stage. The number of
// iterations due by time t is the integral of the rate, N(t); iteration i starts
// at the t where N(t) = i. Within a stage of length D going from rate r0 to r1,
// N grows by r0·t + (r1−r0)·t²/(2D), which inverts in closed form.
type rampingPacer struct {
	stages []rampStage
	// planned is the total number of iterations: floor of the integral, plus the
	// iteration at t = 0 when the start rate is positive.
	planned int64
	// end is the schedule's length (the sum of the stages, saturated).
	end time.Duration
}

type rampStage struct {
	start    float64 // offset of the stage's beginning, in seconds
	duration float64 // seconds
	r0, r1   float64
	before   float64 // N at the stage's beginning
	count    float64 // iterations within the stage
}

// cleanRate is a rate the ramp arithmetic can use: NaN, negatives and -Inf are
// 0, +Inf is the largest float (validation refuses all of them).
func cleanRate(r float64) float64 {
	if !(r > 0) {
		return 0
	}
	return min(r, math.MaxFloat64)
}

func newRampingPacer(startRate float64, stages []Stage) rampingPacer {
	var p rampingPacer
	r0 := cleanRate(startRate)
	var at, n float64
	for _, st := range stages {
		d := max(st.Duration.Seconds(), 0)
		r1 := cleanRate(st.Target)
		count := (r0/2 + r1/2) * d // halves first: r0 + r1 may overflow
		if math.IsInf(count, 0) || math.IsNaN(count) {
			count = math.MaxFloat64
		}
		p.stages = append(p.stages, rampStage{start: at, duration: d, r0: r0, r1: r1, before: n, count: count})
		n = min(n+count, math.MaxFloat64)
		at += d
		r0 = r1
	}
	p.end = durationOf(at * float64(time.Second))
	// Iteration i is due when N reaches i, so iterations 0 .. ceil(N_total)-1 fall
	// inside the plan; a tiny epsilon absorbs floating-point dust.
	switch total := math.Ceil(n - 1e-9); {
	case !(total > 0):
		p.planned = 0
	case total >= float64(maxPacedIterations):
		p.planned = maxPacedIterations
	default:
		p.planned = int64(total)
	}
	return p
}

func (p rampingPacer) offset(i int64) (time.Duration, bool) {
	if i < 0 || i >= p.planned {
		return 0, false
	}
	target := float64(i)
	last := -1
	for k, st := range p.stages {
		if st.count <= 0 {
			continue // a stage at rate zero schedules nothing
		}
		last = k
		if target > st.before+st.count {
			continue
		}
		x := max(target-st.before, 0) // iterations into this stage
		t := solveRamp(st.r0, st.r1, st.duration, x)
		return p.clamp(st.start + t), true
	}
	if last >= 0 {
		// Floating-point dust put the final iteration a hair past the integral.
		st := p.stages[last]
		return p.clamp(st.start + st.duration), true
	}
	return 0, false
}

// clamp converts an offset in seconds, keeping it inside the schedule.
func (p rampingPacer) clamp(seconds float64) time.Duration {
	d := durationOf(seconds * float64(time.Second))
	if p.end > 0 && d >= p.end {
		d = p.end - 1
	}
	return d
}

func (p rampingPacer) plannedIterations() int64 { return p.planned }

// solveRamp returns the t in [0, d] at which r0·t + (r1−r0)·t²/(2d) = x. It uses
// the form t = 2x / (r0 + √(r0² + 2(r1−r0)x/d)), which is exact for r0 = r1 and
// stays stable when the rate starts at zero or falls.
func solveRamp(r0, r1, d, x float64) float64 {
	if x <= 0 {
		return 0
	}
	disc := r0*r0 + 2*(r1-r0)*x/d
	if !(disc > 0) {
		disc = 0 // floating-point dust at the stage end, or an overflowed square
	}
	den := r0 + math.Sqrt(disc)
	if !(den > 0) {
		return d
	}
	t := 2 * x / den
	if math.IsNaN(t) {
		return d
	}
	return math.Min(t, d)
}
