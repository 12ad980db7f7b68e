package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
)

// grantbenchBin is the binary TestMain built: Ginkgo runs once per process, so
// every run of the matrix is a `grantbench conform` of its own.
var grantbenchBin string

// sharedBrowserURL is the DevTools address of the Chromium the conform runs share
// ("" when none could start).
var sharedBrowserURL string

// resultPath is the committed matrix result docs/checks.md is generated from.
const resultPath = "testdata/matrix.json"

// updateEnv set to 1 makes the matrix test rewrite resultPath from its run.
const updateEnv = "GRANTBENCH_UPDATE"

const (
	// runTimeout bounds one conform run (the slowest, the clean run of every
	// check, takes seconds).
	runTimeout = 2 * time.Minute
	// matrixTimeout bounds the whole matrix.
	matrixTimeout = 4 * time.Minute
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds grantbench into a temporary directory, runs the tests
// and removes the directory.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "grantbench-matrix-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "matrix: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	grantbenchBin = filepath.Join(dir, "grantbench")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", grantbenchBin, "github.com/grantbench/grantbench/cmd/grantbench")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "matrix: go build ./cmd/grantbench: %v\n%s", err, out)
		return 1
	}
	// One Chromium for every conform run, which each open their tabs in a
	// browser context of their own (--browser-url), rather than one per run.
	browser, err := flows.NewBrowser(ctx, flows.BrowserOptions{Shareable: true})
	if err != nil {
		// The runs that need a browser will then start their own, and fail
		// as they should when there is none.
		fmt.Fprintln(os.Stderr, "matrix: no shared browser:", err)
	} else {
		defer browser.Close()
		sharedBrowserURL = browser.DevToolsURL()
	}
	return m.Run()
}

// checkID is the CHECKS.md ID a spec's text starts with ("AC2: ...").
var checkID = regexp.MustCompile(`^([A-Z]+[0-9]+):`)

// verdicts maps the check IDs of a conform run's results.json to their state.
type verdicts map[string]types.SpecState

// conform runs `grantbench conform` with the defect (none when "") and label
// filter, and returns each spec's verdict from results.json. A run that fails
// checks exits 1; anything without a results.json is an error.
func conform(ctx context.Context, t *testing.T, defect, labelFilter string) verdicts {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	out := t.TempDir()
	args := []string{"conform", "--out", out, "--no-color"}
	if defect != "" {
		args = append(args, "--defect", defect)
	}
	if labelFilter != "" {
		args = append(args, "--label-filter", labelFilter)
	}
	if sharedBrowserURL != "" {
		args = append(args, "--browser-url", sharedBrowserURL)
	}
	cmd := exec.CommandContext(ctx, grantbenchBin, args...)
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		t.Fatalf("grantbench %s: %v", strings.Join(args, " "), runErr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatalf("grantbench %s: no results.json (%v; exit %v); output:\n%s", strings.Join(args, " "), err, runErr, tail(output.String(), 40))
	}
	var reportsOut []types.Report
	if err := json.Unmarshal(data, &reportsOut); err != nil || len(reportsOut) != 1 {
		t.Fatalf("results.json: want one Ginkgo report, got %d (%v)", len(reportsOut), err)
	}
	got := verdicts{}
	for _, spec := range reportsOut[0].SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		m := checkID.FindStringSubmatch(spec.LeafNodeText)
		if m == nil {
			t.Errorf("spec %q does not start with a check ID", spec.LeafNodeText)
			continue
		}
		got[m[1]] = spec.State
		if spec.State.Is(types.SpecStateFailureStates) {
			t.Logf("%s failed: %s", m[1], firstLine(spec.Failure.Message))
		}
	}
	return got
}

// TestMutationMatrix proves every check can fail: for each defect mode of the
// bundled mock, the checks CHECKS.md names for it must fail with that one
// defect on (and no other selected check may); with no defect every check
// must pass. Runs go two at a time (this is a 2-core machine, and a run is
// mostly one process waiting on another). The observed result must match
// testdata/matrix.json, which docs/checks.md is generated from.
func TestMutationMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the mutation matrix runs grantbench once per defect; skipped with -short")
	}
	if _, err := flows.FindChrome(); err != nil {
		t.Skipf("no Chrome or Chromium for the browser checks (AC1, AC15, D1, D4): %v", err)
	}
	started := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), matrixTimeout)
	defer cancel()

	catalog := catalog.All()
	named := DefectChecks(catalog)
	mockDefects := mockprovider.Defects()
	checkCatalogueAgrees(t, named, mockDefects)

	var (
		mu     sync.Mutex
		result Result
		slots  = make(chan struct{}, 2)
	)
	acquire := func() func() {
		slots <- struct{}{}
		return func() { <-slots }
	}
	t.Run("runs", func(t *testing.T) {
		t.Run("clean", func(t *testing.T) {
			t.Parallel()
			defer acquire()()
			got := conform(ctx, t, "", "")
			var clean CleanRun
			for _, c := range catalog {
				if c.Area == "rp" {
					continue
				}
				state, ran := got[c.ID]
				switch {
				case !ran:
					t.Errorf("%s: in the catalogue but no spec ran for it", c.ID)
				case state == types.SpecStatePassed:
					clean.Passed = append(clean.Passed, c.ID)
				case state.Is(types.SpecStateFailureStates):
					clean.Failed = append(clean.Failed, c.ID)
					t.Errorf("%s failed against the clean mock", c.ID)
				default:
					clean.Skipped = append(clean.Skipped, c.ID)
					t.Errorf("%s was %s against the clean mock, which supports every check", c.ID, state)
				}
			}
			mu.Lock()
			result.Clean = clean
			mu.Unlock()
		})
		for _, d := range mockDefects {
			checks := named[d.Name]
			if len(checks) == 0 {
				continue // reported by checkCatalogueAgrees
			}
			t.Run(d.Name, func(t *testing.T) {
				t.Parallel()
				defer acquire()()
				got := conform(ctx, t, d.Name, strings.Join(checks, " || "))
				run := DefectRun{Name: d.Name, Checks: checks}
				for id, state := range got {
					if state.Is(types.SpecStateFailureStates) {
						run.Failed = append(run.Failed, id)
					}
				}
				for _, id := range checks {
					if state, ran := got[id]; !ran || !state.Is(types.SpecStateFailureStates) {
						t.Errorf("defect %s not caught: %s was %s, want failed", d.Name, id, state)
					}
				}
				for _, id := range run.Failed {
					if !slices.Contains(checks, id) {
						t.Errorf("defect %s also failed %s, which CHECKS.md does not name for it", d.Name, id)
					}
				}
				mu.Lock()
				result.Defects = append(result.Defects, run)
				mu.Unlock()
			})
		}
	})
	result.Finish()
	t.Logf("mutation matrix: %d defects and the clean run in %s", len(result.Defects), time.Since(started).Round(100*time.Millisecond))
	if t.Failed() {
		return // a partial result is not worth comparing or keeping
	}

	observed, err := result.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(updateEnv) == "1" {
		if err := os.WriteFile(resultPath, observed, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; run `go generate ./suites/matrix` to refresh docs/checks.md", resultPath)
		return
	}
	committed, err := os.ReadFile(resultPath)
	if err != nil {
		t.Fatalf("%v (write it with %s=1 go test ./suites/matrix)", err, updateEnv)
	}
	if !bytes.Equal(committed, observed) {
		t.Errorf("%s differs from this run; rerun with %s=1 and `go generate ./suites/matrix`.\nobserved:\n%s", resultPath, updateEnv, observed)
	}
}

// checkCatalogueAgrees asserts that the mock's defect modes and CHECKS.md's
// defect column name the same defects with the same checks.
func checkCatalogueAgrees(t *testing.T, named map[string][]string, mock []mockprovider.DefectInfo) {
	t.Helper()
	inMock := map[string]bool{}
	for _, d := range mock {
		inMock[d.Name] = true
		want := sortedCopy(named[d.Name])
		if got := sortedCopy(d.Checks); !slices.Equal(got, want) {
			t.Errorf("defect %s: the mock says it breaks %v, CHECKS.md names it for %v", d.Name, got, want)
		}
	}
	for name := range named {
		if !inMock[name] {
			t.Errorf("CHECKS.md names defect %s, which the mock provider does not have", name)
		}
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
