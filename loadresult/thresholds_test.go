package loadresult

import (
	"strings"
	"testing"
	"time"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		scope string
		limit float64
	}{
		{"token:p99<250ms", "token", 0.25},
		{"p99.9 <= 1.5s", "", 1.5},
		{"client_credentials/token:service_p50<10ms", "client_credentials/token", 0.01},
		{"error_rate<0.1%", "", 0.001},
		{"error_rate<=0.02", "", 0.02},
		{"rate>=0.98*target", "", 0.98},
		{"rate >= target", "", 1},
		{"cc:rate>95", "cc", 95},
		{"dropped==0", "", 0},
		{"max<2s", "", 2},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if th.Scope != tc.scope || th.Limit != tc.limit {
			t.Errorf("%q: scope %q limit %v, want %q %v", tc.expr, th.Scope, th.Limit, tc.scope, tc.limit)
		}
	}
	for _, bad := range []string{"", "p99", "token:p99<250", "p101<1s", "error_rate<150%", "error_rate<abc",
		"rate>=fast", "latency<1s", "service_error_rate<1%", "dropped<-1", "p99=1s", "token:p99<-1s",
		// NaN and Inf pass ParseFloat; a NaN bound once ran the whole test and then
		// could not be encoded, so no load.json was written (issue 13).
		"error_rate<NaN", "error_rate<nan%", "dropped_rate<=Inf", "rate>NaN", "rate>=Inf*target", "rate>+Inf", "error_rate<-Inf"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestCheckScope(t *testing.T) {
	flows := []string{"client_credentials", "refresh"}
	scenarios := []string{"cc"}
	for expr, ok := range map[string]bool{
		"token:p99<1s":                           true,
		"client_credentials:error_rate<1%":       true,
		"cc:rate>=target":                        true,
		"refresh/refresh:p50<1s":                 true,
		"tokn:p99<1s":                            false,
		"password:p99<1s":                        false,
		"client_credentials/nope:p99<1s":         false,
		"token:dropped==0":                       false,
		"token:rate>=0.9*target":                 false,
		"token:rate>10":                          true,
		"client_credentials/token:error_rate<1%": true,
	} {
		th, err := ParseThreshold(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if err := th.CheckScope(flows, scenarios); (err == nil) != ok {
			t.Errorf("%q: CheckScope = %v, want ok=%v", expr, err, ok)
		}
	}
}

// judgeResult is a run with two scenarios: cc (token step, 100 flows of 10 ms, 1 of
// 300 ms that failed) and rt (refresh step, 10 flows of 50 ms).
func judgeResult(t *testing.T) *Result {
	t.Helper()
	var ccLat []time.Duration
	for range 100 {
		ccLat = append(ccLat, 10*time.Millisecond)
	}
	ccLat = append(ccLat, 300*time.Millisecond)
	var rtLat []time.Duration
	for range 10 {
		rtLat = append(rtLat, 50*time.Millisecond)
	}
	cc, rt := histogramOf(t, ccLat...), histogramOf(t, rtLat...)
	return &Result{Schema: ResultSchema, Scenarios: []ScenarioResult{
		{Name: "cc", Flow: "client_credentials", TargetRate: 10.1, ElapsedSeconds: 10, AchievedRate: 10.1, Started: 101,
			Dropped: map[string]int64{DroppedMaxInFlight: 1}, Flows: map[string]int64{OutcomeOK: 100, OutcomeHTTPError: 1},
			Latency: cc, ServiceTime: histogramOf(t, time.Millisecond),
			Steps: []StepResult{{Name: "token", Latency: cc, ServiceTime: cc, Requests: []RequestCount{
				{Outcome: OutcomeOK, StatusClass: "2xx", Count: 100}, {Outcome: OutcomeHTTPError, StatusClass: "5xx", Count: 1}}}}},
		{Name: "rt", Flow: "refresh", TargetRate: 2, ElapsedSeconds: 10, AchievedRate: 1, Started: 10,
			Flows: map[string]int64{OutcomeOK: 10, OutcomeInterrupted: 3}, Latency: rt, ServiceTime: rt,
			Steps: []StepResult{{Name: "refresh", Latency: rt, ServiceTime: rt, Requests: []RequestCount{
				{Outcome: OutcomeOK, StatusClass: "2xx", Count: 10}}}}},
	}}
}

func TestJudge(t *testing.T) {
	r := judgeResult(t)
	for _, tc := range []struct {
		expr    string
		passed  bool
		display string
	}{
		{"token:p99<250ms", true, "10.0ms"},
		{"token:p99.9<250ms", false, "300.0ms"},
		{"client_credentials:max<250ms", false, "300.0ms"},
		{"cc:service_p99<2ms", true, "1.0ms"},
		{"refresh:p50<51ms", true, "50.0ms"},
		{"p50<20ms", true, "10.0ms"},
		{"error_rate<1%", true, "0.9009%"},       // 1 failed of 111 finished (interrupted excluded)
		{"cc:error_rate<0.5%", false, "0.9901%"}, // 1 of 101
		{"token:error_rate<=0.01", true, "0.009901"},
		{"rate>=0.98*target", false, "11.10/s (limit 11.86/s)"}, // rt achieved 1 of 2
		{"cc:rate>=0.98*target", true, "10.10/s (limit 9.90/s)"},
		{"token:rate>10", true, "10.10/s"},
		{"dropped==0", false, "1"},
		{"cc:dropped_rate<1%", true, "0.9804%"},
		{"password:p99<1s", false, "no data"},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		vs, err := Judge(r, []Threshold{th})
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		v := vs[0]
		if v.Passed != tc.passed || v.Display != tc.display || v.Threshold != tc.expr {
			t.Errorf("%q: passed %v display %q, want %v %q", tc.expr, v.Passed, v.Display, tc.passed, tc.display)
		}
	}
}

func TestJudgeRateTargetOfClosedModel(t *testing.T) {
	r := judgeResult(t)
	r.Scenarios[0].TargetRate = 0
	r.Scenarios[0].Executor = "constant-workers" // a closed model: no target rate
	th, _ := ParseThreshold("cc:rate>=target")
	if _, err := Judge(r, []Threshold{th}); err == nil || !strings.Contains(err.Error(), "no target rate") {
		t.Errorf("a rate target on the closed model gave %v", err)
	}
}

func TestFormatSeconds(t *testing.T) {
	for s, want := range map[float64]string{0.000840: "840µs", 0.3125: "312.5ms", 1.2041: "1.204s"} {
		if got := FormatSeconds(s); got != want {
			t.Errorf("FormatSeconds(%v) = %q, want %q", s, got, want)
		}
	}
}
