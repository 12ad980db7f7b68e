package layering

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const module = "github.com/grantbench/grantbench"

// forbidden lists, per package, import paths (prefixes) that must not appear among
// its dependencies, with the reason the rule exists.
var forbidden = []struct {
	pkg     string
	prefix  []string
	because string
}{
	{"trace", []string{module + "/"}, "the trace is a leaf: flows, runner, suites and reports all read it"},
	{"redact", []string{module + "/flows", module + "/reports", module + "/suites", module + "/runner", module + "/mockprovider"}, "the redactor is a leaf shared by suites, reports and the CLI"},
	{"oauth", []string{module + "/"}, "the protocol's vocabulary is a leaf"},
	{"catalog", []string{module + "/"}, "the check catalogue is a leaf: suites, the mutation matrix and reports read it"},
	{"loadresult", []string{module + "/", "github.com/prometheus/"}, "load results are read without Prometheus or remote write"},
	{"reports", []string{"github.com/chromedp/", "github.com/prometheus/", module + "/flows", module + "/runner", module + "/suites", module + "/mockprovider"}, "reports turn saved results into files; they need no browser, metrics or remote write"},
	{"suites", []string{"gonum.org/v1/plot", module + "/reports"}, "the suites check providers; writing report files is the CLI's business (Options.WriteResults)"},
}

func TestLayersImportOnlyWhatTheyMay(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, rule := range forbidden {
		t.Run(rule.pkg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goTool, "list", "-deps", module+"/"+rule.pkg)
			cmd.Dir = "../.."
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", rule.pkg, err)
			}
			self := module + "/" + rule.pkg
			for _, dep := range strings.Fields(string(out)) {
				if dep == self {
					continue
				}
				for _, p := range rule.prefix {
					if strings.HasPrefix(dep, p) {
						t.Errorf("%s depends on %s, but %s", rule.pkg, dep, rule.because)
					}
				}
			}
		})
	}
}
