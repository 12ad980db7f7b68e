package grants

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/runner"
)

// TestTableChecksPlans: scenario files are checked against the real table,
// errors naming the field at fault.
func TestTableChecksPlans(t *testing.T) {
	for doc, field := range map[string]string{
		"scenarios: [{flow: implicit, rate: 1, duration: 1s}]":                                               "scenarios[0].flow: unknown flow \"implicit\"",
		"scenarios: [{flow: refresh, consent: http, workers: 1, duration: 1s}]":                              "scenarios[0].consent: only authorization_code",
		"scenarios: [{flow: authorization_code, consent: tv, workers: 1, duration: 1s}]":                     "scenarios[0].consent: \"tv\" is not http or browser",
		"scenarios: [{flow: device_code, workers: 1, duration: 1s}, {flow: nope, workers: 1, duration: 1s}]": "scenarios[1].flow",
	} {
		_, err := runner.ParsePlan([]byte(doc), Table)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v, want it to contain %q", doc, err, field)
		}
	}
	for _, name := range Table.FlowNames() {
		if _, err := runner.ParsePlan([]byte("scenarios: [{flow: "+name+", workers: 1, duration: 1s}]"), Table); err != nil {
			t.Errorf("flow %s refused: %v", name, err)
		}
	}
}

func TestResolveConsent(t *testing.T) {
	httpOK := &flows.Target{Features: flows.Features{HTTPConsent: true}}
	pagesOnly := &flows.Target{}
	spec := func(consent string) runner.ScenarioSpec {
		return runner.ScenarioSpec{Name: "s", Flow: flows.FlowAuthCode, Consent: consent}
	}
	for _, c := range []struct {
		spec       runner.ScenarioSpec
		runDefault string
		target     *flows.Target
		want       flows.ConsentMode
		wantErr    string
	}{
		{spec(""), "", httpOK, flows.ConsentHTTP, ""},
		{spec(""), "", pagesOnly, flows.ConsentBrowser, ""},
		{spec(""), "browser", httpOK, flows.ConsentBrowser, ""},
		{spec("http"), "browser", httpOK, flows.ConsentHTTP, ""},
		{spec(""), "http", pagesOnly, "", "features.http_consent"},
		{spec(""), "tv", httpOK, "", `"tv" is not http or browser`},
	} {
		got, err := ResolveConsent(c.spec, c.runDefault, c.target)
		if got != c.want || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("scenario consent %q, run %q, http_consent %v: %q, %v; want %q, %q",
				c.spec.Consent, c.runDefault, c.target.Features.HTTPConsent, got, err, c.want, c.wantErr)
		}
	}
}

// TestBindLabelsConsentAndAppliesTheShard binds against the bundled mock: the
// consent mode labels only the flow that takes one, the shard gets its share,
// and a scenario the shard has no share of is skipped and reported.
func TestBindLabelsConsentAndAppliesTheShard(t *testing.T) {
	target := startMock(t)
	workers := func(n int) runner.Executor {
		return runner.Executor{Kind: runner.ExecutorConstantWorkers, Workers: n, Duration: time.Second}
	}
	plan := &runner.Plan{Scenarios: []runner.ScenarioSpec{
		{Name: "code", Flow: flows.FlowAuthCode, Weight: 1, Executor: workers(4)},
		{Name: "cc", Flow: flows.FlowClientCredentials, Weight: 1, Executor: workers(1)},
	}}
	var skipped []string
	b, err := Bind(context.Background(), plan, BindOptions{Target: target, Shard: runner.Shard{Index: 2, Count: 2},
		Skipped: func(name string) { skipped = append(skipped, name) }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Scenarios) != 1 || b.Scenarios[0].Name != "code" || b.Scenarios[0].Executor.Workers != 2 {
		t.Fatalf("bound %+v, want scenario code with 2 of 4 workers", b.Scenarios)
	}
	if b.Scenarios[0].Consent != string(flows.ConsentHTTP) || b.Scenarios[0].Classify == nil {
		t.Errorf("code scenario consent %q, want http (the mock's default)", b.Scenarios[0].Consent)
	}
	if len(skipped) != 1 || skipped[0] != "cc" {
		t.Errorf("skipped %v, want [cc] (1 worker over 2 shards)", skipped)
	}

	_, err = Bind(context.Background(), &runner.Plan{Scenarios: plan.Scenarios[1:]}, BindOptions{Target: target, Shard: runner.Shard{Index: 2, Count: 2}})
	if err == nil || !strings.Contains(err.Error(), "nothing to run") {
		t.Errorf("empty shard: %v", err)
	}
	_, err = Bind(context.Background(), plan, BindOptions{Target: target, Consent: "browser"})
	var setupErr *SetupError
	if err == nil || errors.As(err, &setupErr) || !strings.Contains(err.Error(), "--tabs") {
		t.Errorf("browser consent with no tabs: %v, want a plan error naming --tabs", err)
	}
}
