package runner

import (
	"math"
	"time"
)

// pacer is the arithmetic of an open-model schedule: when iteration i (counting
// from 0) is meant to start, relative to the start of the scenario. It is pure,
// so the schedule is tested without clocks.
type pacer interface {
	// offset returns iteration i's intended start; ok is false when the plan
	// has no iteration i.
	offset(i int64) (d time.Duration, ok bool)
	// plannedIterations is how many iterations the plan holds.
	plannedIterations() int64
}

// constantPacer starts one iteration every 1/rate seconds for duration. Offsets
// are computed from i, not accumulated, so rounding never drifts the schedule.
type constantPacer struct {
	rate     float64
	duration time.Duration
}

func (p constantPacer) offset(i int64) (time.Duration, bool) {
	d := time.Duration(float64(i) * float64(time.Second) / p.rate)
	return d, d < p.duration
}

func (p constantPacer) plannedIterations() int64 {
	// Iterations at 0, 1/rate, ... strictly before duration.
	n := int64(math.Ceil(p.duration.Seconds() * p.rate))
	for n > 0 {
		if _, ok := p.offset(n - 1); ok {
			break
		}
		n--
	}
	for {
		if _, ok := p.offset(n); !ok {
			return n
		}
		n++
	}
}

// rampingPacer moves the rate linearly from stage to stage. The number of
// iterations due by time t is the integral of the rate, N(t); iteration i starts
// at the t where N(t) = i. Within a stage of length D going from rate r0 to r1,
// N grows by r0·t + (r1−r0)·t²/(2D), which inverts in closed form.
type rampingPacer struct {
	stages []rampStage
	// planned is the total number of iterations: floor of the integral, plus the
	// iteration at t = 0 when the start rate is positive.
	planned int64
}

type rampStage struct {
	start    time.Duration // offset of the stage's beginning
	duration time.Duration
	r0, r1   float64
	before   float64 // N at the stage's beginning
	count    float64 // iterations within the stage
}

func newRampingPacer(startRate float64, stages []Stage) rampingPacer {
	var p rampingPacer
	r0 := startRate
	var at time.Duration
	var n float64
	for _, st := range stages {
		count := (r0 + st.Target) / 2 * st.Duration.Seconds()
		p.stages = append(p.stages, rampStage{start: at, duration: st.Duration, r0: r0, r1: st.Target, before: n, count: count})
		n += count
		at += st.Duration
		r0 = st.Target
	}
	// Iteration i is due when N reaches i, so iterations 0 .. ceil(N_total)-1 fall
	// inside the plan; a tiny epsilon absorbs floating-point dust.
	p.planned = int64(math.Ceil(n - 1e-9))
	if p.planned < 0 {
		p.planned = 0
	}
	return p
}

func (p rampingPacer) offset(i int64) (time.Duration, bool) {
	if i >= p.planned {
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
		x := target - st.before // iterations into this stage
		if x < 0 {
			x = 0
		}
		t := solveRamp(st.r0, st.r1, st.duration.Seconds(), x)
		return st.start + time.Duration(t*float64(time.Second)), true
	}
	if last >= 0 {
		// Floating-point dust put the final iteration a hair past the integral.
		st := p.stages[last]
		return st.start + st.duration, true
	}
	return 0, false
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
	if disc < 0 {
		disc = 0 // only floating-point dust at the stage end gets here
	}
	den := r0 + math.Sqrt(disc)
	if den <= 0 {
		return d
	}
	t := 2 * x / den
	return math.Min(t, d)
}
