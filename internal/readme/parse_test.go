package readme

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMECommandLinesParse runs under -short too: the README's command
// lines are found, split as sh would, and their stated exit codes read.
func TestREADMECommandLinesParse(t *testing.T) {
	blocks := readmeBlocks(t, filepath.Join("..", "..", "README.md"))
	var all []readmeCommand
	for _, b := range blocks {
		all = append(all, b...)
	}
	if len(all) < 10 {
		t.Fatalf("%d command lines", len(all))
	}
	var servers, failing, background int
	for _, c := range all {
		if c.argv[0] != "bin/grantbench" && c.argv[0] != "grantbench" {
			t.Errorf("%q: argv %q", c.line, c.argv)
		}
		if c.server() {
			servers++
		}
		if c.background {
			background++
		}
		if c.wantExit != 0 {
			failing++
		}
		for _, a := range c.argv {
			if strings.HasPrefix(a, "'") || strings.HasSuffix(a, "'") {
				t.Errorf("%q: quote left in %q", c.line, a)
			}
		}
	}
	if servers < 2 || background < 1 || failing < 2 {
		t.Errorf("servers %d, background %d, lines expected to fail %d: the README's provider, conform --target and bug lines were not recognised", servers, background, failing)
	}
}

func TestShellWords(t *testing.T) {
	got, err := shellWords(`bin/grantbench rp --app app.yaml --label-filter 'P13 || P15' --threshold "token:p99<250ms"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bin/grantbench", "rp", "--app", "app.yaml", "--label-filter", "P13 || P15", "--threshold", "token:p99<250ms"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("shellWords = %q, want %q", got, want)
	}
	if _, err := shellWords(`grantbench load > out.txt`); err == nil {
		t.Error("a redirection the test cannot run was accepted")
	}
}

func TestOverloadedLatencyBreachOnlyExcusesLatency(t *testing.T) {
	if r := overloadedLatencyBreach(1, []byte("  FAIL  error_rate<0.1%   measured 5%\n")); r != "" {
		t.Errorf("an error-rate breach was excused: %s", r)
	}
	if r := overloadedLatencyBreach(3, []byte("  FAIL  token:p99<250ms   measured 3s\n")); r != "" {
		t.Errorf("exit 3 was excused: %s", r)
	}
	if r := overloadedLatencyBreach(1, []byte("  FAIL  token:p99<250ms   measured 3s\n  FAIL  error_rate<0.1%   measured 5%\n")); r != "" {
		t.Errorf("a latency and an error-rate breach were excused: %s", r)
	}
	if r := overloadedLatencyBreach(1, []byte("no thresholds\n")); r != "" {
		t.Errorf("a failure without a threshold line was excused: %s", r)
	}
}
