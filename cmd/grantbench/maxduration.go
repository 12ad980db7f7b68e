package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/grantbench/grantbench/runner"
)

// maxDurationEnv caps every duration of a load plan (flag form or scenario
// file): GRANTBENCH_MAX_DURATION=2s makes the README's 30-second and
// 10-minute runs take 2 s each, unchanged otherwise, so that its commands can
// be tried (and are tested) exactly as written. Iteration counts, rates and
// thresholds stay as planned.
const maxDurationEnv = "GRANTBENCH_MAX_DURATION"

// capPlanDurations applies maxDurationEnv to plan and says so on stderr.
// Ramping stages are scaled together, so the ramp keeps its shape.
func capPlanDurations(plan *runner.Plan, stderr io.Writer) error {
	raw := os.Getenv(maxDurationEnv)
	if raw == "" {
		return nil
	}
	limit, err := time.ParseDuration(raw)
	if err != nil || limit <= 0 {
		return usageErrorf("load: %s=%q: want a positive duration such as 2s", maxDurationEnv, raw)
	}
	capped := false
	for i := range plan.Scenarios {
		ex := &plan.Scenarios[i].Executor
		planned := ex.PlannedDuration()
		if planned <= limit {
			continue
		}
		capped = true
		if ex.Kind == runner.ExecutorRampingArrivalRate {
			scale := float64(limit) / float64(planned)
			for j := range ex.Stages {
				ex.Stages[j].Duration = max(time.Duration(float64(ex.Stages[j].Duration)*scale), time.Millisecond)
			}
			continue
		}
		ex.Duration = limit
	}
	if capped {
		fmt.Fprintf(stderr, "load: %s=%s: durations capped at %s\n", maxDurationEnv, raw, limit)
	}
	return nil
}
