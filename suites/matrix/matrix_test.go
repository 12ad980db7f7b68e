package matrix

// The mutation matrix: the proof, by assertion, of what each check catches.
//
// TestMutationMatrix runs `grantbench conform` against the bundled mock, the
// whole provider catalogue every time (no label filter), once per run:
//
//   - the clean run (no defect, no setting): every check passes, none warns;
//   - one run per defect mode of mockprovider.Defects(), with that one defect
//     on: the checks that fail must be exactly the defect's Breaks and the
//     checks that pass with a warning exactly its Warns
//     (mockprovider/defects.go). A defect that breaks a check its Breaks does
//     not list fails the test, and so does one that leaves a listed check
//     passing. The checks CHECKS.md names for it (Checks) are a subset of
//     Breaks;
//   - one run per fair setting (fairSettings below): a legitimate behaviour
//     of a provider that the bundled mock can be configured for, such as
//     `conform --mock-setting NAME` (mockprovider.Settings(), each with the
//     checks it may make warn). It must fail no check and warn exactly
//     where its row says. The rows come from the mock's own catalogues, so a
//     new setting is in the matrix as soon as the mock has it; a behaviour
//     switched on another way gets a row of conform flags of its own.
//
// "Failed" means failed at an assertion: Ginkgo's SpecStateFailed with a
// failure message. A spec that panicked, timed out, was interrupted or
// aborted, failed without a message, or failed because the harness could not
// start its browser (suites.BrowserDidNotStart), a failed suite node, and a
// conform exit other than 0 or 1 make the run broken: the test fails with
// the message instead of counting the check as caught.
//
// One defect alone: go test -run 'TestMutationMatrix/runs/NAME$' ./suites/matrix
// (its sets are asserted; the committed result is compared only after a
// whole run). After a change that moves a set, the test says which checks
// moved; record the new sets in mockprovider/defects.go, then
//
//	GRANTBENCH_UPDATE=1 go test -count=1 -run TestMutationMatrix ./suites/matrix
//	go generate ./suites/matrix
//
// to rewrite testdata/matrix.json and docs/checks.md.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/suites"
)

// fairSetting is a legitimate provider behaviour the bundled mock can be
// configured for: the clean catalogue must pass against it.
type fairSetting struct {
	// Name names the run (a subtest and an entry of matrix.json).
	Name string
	// Args are the conform flags that switch it on.
	Args []string
	// Warns are the checks that pass with a warning under it (a SHOULD the
	// behaviour legitimately does not meet); any other warning fails.
	Warns []string
}

// fairSettings are run like the clean run and must fail no check: every
// setting of the bundled mock (`conform --mock-setting NAME`).
func fairSettings() []fairSetting {
	var out []fairSetting
	for _, s := range mockprovider.Settings() {
		out = append(out, fairSetting{Name: s.Name, Args: []string{"--mock-setting", s.Name}, Warns: s.Warns})
	}
	return out
}

// resultPath is the committed matrix result docs/checks.md is generated from.
const resultPath = "testdata/matrix.json"

// updateEnv set to 1 makes the matrix test rewrite resultPath from its run.
const updateEnv = "GRANTBENCH_UPDATE"

const (
	// runTimeout bounds one conform run (a whole catalogue takes seconds;
	// the slowest defect runs wait out a 20 s poll limit).
	runTimeout = 2 * time.Minute
	// matrixTimeout bounds the whole matrix, the build included, when the
	// test has no deadline; with one (go test -timeout, 9m in make test) the
	// matrix stops 20 s before it, so that it fails with its own message.
	matrixTimeout = 8 * time.Minute
)

// matrixEnv is what every run of the matrix shares: the grantbench binary
// (Ginkgo runs once per process, so every run is a `grantbench conform` of
// its own) and the DevTools address of one Chromium, in which each run opens
// its tabs in a browser context of its own (--browser-url) rather than
// starting a browser; a run whose checks need none never connects to it.
type matrixEnv struct {
	bin        string
	browserURL string
}

// newMatrixEnv builds grantbench and starts the shared browser, both gone
// when t ends.
func newMatrixEnv(ctx context.Context, t *testing.T) *matrixEnv {
	t.Helper()
	env := &matrixEnv{bin: filepath.Join(t.TempDir(), "grantbench")}
	build := exec.CommandContext(ctx, "go", "build", "-o", env.bin, "github.com/grantbench/grantbench/cmd/grantbench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/grantbench: %v\n%s", err, out)
	}
	browser, err := flows.NewBrowser(ctx, flows.BrowserOptions{Shareable: true, ExecPath: matrixChrome(t)})
	if err != nil {
		t.Fatalf("broken: the shared Chromium did not start: %v", err)
	}
	t.Cleanup(func() { browser.Close() })
	env.browserURL = browser.DevToolsURL()
	return env
}

// headlessShell is Debian's chromium-headless-shell (make test-tools installs
// it): the same Blink and V8 as chromium, built for headless use only, without
// the new headless mode's full browser. The shared browser was most of the
// matrix's CPU: about 4.9 s of Chromium per conform run (five browser
// contexts, a renderer each) beside 0.7 s of conform's own; the shell takes
// about 2.2 s for the same pages. The whole matrix went from 484 s of CPU
// (258 s wall) to 250 s (137 s wall) on the two-core machine.
const headlessShell = "chromium-headless-shell"

// matrixChrome is the shared browser's executable: $CHROME_PATH when set, else
// the headless shell when installed, else "" (flows.FindChrome's choice,
// chromium).
func matrixChrome(t *testing.T) string {
	if os.Getenv("CHROME_PATH") != "" {
		return ""
	}
	path, err := exec.LookPath(headlessShell)
	if err != nil {
		t.Logf("no %s (make test-tools installs it): the shared browser is chromium, which costs the matrix about twice the browser CPU", headlessShell)
		return ""
	}
	return path
}

// checkID is the CHECKS.md ID a spec's text starts with ("AC2: ...").
var checkID = regexp.MustCompile(`^([A-Z]+[0-9]+):`)

// observation is what one conform run's results.json says, by verdict.
type observation struct {
	passed, warned, failed, skipped []string
	// broken says why the run is not a verdict on the provider (empty when
	// every spec ended passed, skipped or failed at an assertion).
	broken []string
	// cpu is the CPU time the conform process used (the shared browser's is
	// not in it).
	cpu time.Duration
}

// conformRun is one run of the matrix: a defect (none when "") or the flags
// of a fair setting.
type conformRun struct {
	defect string
	args   []string
}

func (r conformRun) argv(out, browserURL string) []string {
	args := []string{"conform", "--out", out, "--no-color", "--browser-url", browserURL}
	if r.defect != "" {
		args = append(args, "--defect", r.defect)
	}
	return append(args, r.args...)
}

// conform runs `grantbench conform` over the whole catalogue and returns what
// its results.json says. A run that fails checks exits 1; anything without a
// results.json is fatal to the subtest.
func (env *matrixEnv) conform(ctx context.Context, t *testing.T, r conformRun) observation {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	out := t.TempDir()
	args := r.argv(out, env.browserURL)
	cmd := exec.CommandContext(ctx, env.bin, args...)
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	runErr := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("broken run: grantbench %s did not end in time (%v: each run has %s, the matrix until go test's -timeout); output:\n%s",
			strings.Join(args, " "), ctx.Err(), runTimeout, tail(output.String(), 20))
	}
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		t.Fatalf("grantbench %s: %v", strings.Join(args, " "), runErr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatalf("broken run: grantbench %s: no results.json (%v; exit %v); output:\n%s", strings.Join(args, " "), err, runErr, tail(output.String(), 40))
	}
	reps, err := reports.ReadGinkgoReports(data)
	if err != nil || len(reps) != 1 {
		t.Fatalf("broken run: results.json: want one Ginkgo report, got %d (%v)", len(reps), err)
	}
	obs := observe(reps[0])
	if ps := cmd.ProcessState; ps != nil {
		obs.cpu = ps.UserTime() + ps.SystemTime()
	}
	exitCode := 0
	if exit != nil {
		exitCode = exit.ExitCode()
	}
	switch {
	case exitCode != 0 && exitCode != 1:
		obs.broken = append(obs.broken, fmt.Sprintf("grantbench conform exited %d (0: all passed, 1: checks failed); output:\n%s", exitCode, tail(output.String(), 20)))
	case (exitCode == 1) != (len(obs.failed)+len(obs.broken) > 0):
		obs.broken = append(obs.broken, fmt.Sprintf("grantbench conform exited %d with %d checks failed; output:\n%s", exitCode, len(obs.failed), tail(output.String(), 20)))
	}
	return obs
}

// observe sorts the specs of a report by verdict; see the file comment for
// what makes a run broken.
func observe(rep types.Report) observation {
	var obs observation
	for _, reason := range rep.SpecialSuiteFailureReasons {
		obs.broken = append(obs.broken, "suite: "+reason)
	}
	for _, spec := range rep.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			if spec.State.Is(types.SpecStateFailureStates) {
				obs.broken = append(obs.broken, fmt.Sprintf("%s %s: %s", spec.LeafNodeType, spec.State, failureText(spec)))
			}
			continue
		}
		m := checkID.FindStringSubmatch(spec.LeafNodeText)
		if m == nil {
			obs.broken = append(obs.broken, fmt.Sprintf("spec %q does not start with a check ID", spec.LeafNodeText))
			continue
		}
		id := m[1]
		switch spec.State {
		case types.SpecStatePassed:
			if hasWarning(spec) {
				obs.warned = append(obs.warned, id)
			} else {
				obs.passed = append(obs.passed, id)
			}
		case types.SpecStateSkipped, types.SpecStatePending:
			obs.skipped = append(obs.skipped, id)
		case types.SpecStateFailed:
			msg := strings.TrimSpace(spec.Failure.Message)
			switch {
			case msg == "":
				obs.broken = append(obs.broken, id+" failed without a message (no assertion said what it expected)")
			case strings.HasPrefix(msg, suites.BrowserDidNotStart):
				obs.broken = append(obs.broken, id+" failed because its browser did not start: "+firstLine(msg))
			default:
				obs.failed = append(obs.failed, id)
			}
		default:
			// Panicked, interrupted, aborted, timed out: not an assertion.
			obs.broken = append(obs.broken, fmt.Sprintf("%s %s: %s", id, spec.State, failureText(spec)))
		}
	}
	return obs
}

// hasWarning reports whether a passed spec recorded a warning (a SHOULD not
// met), as reports reads it.
func hasWarning(spec types.SpecReport) bool {
	return slices.ContainsFunc(spec.ReportEntries, func(e types.ReportEntry) bool { return e.Name == reports.EntryWarning })
}

func failureText(spec types.SpecReport) string {
	msg := firstLine(spec.Failure.Message)
	if p := spec.Failure.ForwardedPanic; p != "" {
		msg = strings.TrimSpace(msg + " panic: " + firstLine(p))
	}
	if loc := spec.Failure.Location; loc.FileName != "" {
		msg += fmt.Sprintf(" (%s:%d)", filepath.Base(loc.FileName), loc.LineNumber)
	}
	if msg == "" {
		msg = "no message"
	}
	return msg
}

// expectExactly fails t unless got (a verdict's checks) is exactly want, naming
// each check that moved.
func expectExactly(t *testing.T, what, verdict string, got, want []string) {
	t.Helper()
	missing, extra := setDiff(got, want)
	for _, id := range missing {
		t.Errorf("%s: %s is listed as %s but was not", what, id, verdict)
	}
	for _, id := range extra {
		t.Errorf("%s also %s %s, which is not listed", what, verdict, id)
	}
}

// setDiff returns the IDs of want that got lacks and those of got that want
// lacks, each sorted.
func setDiff(got, want []string) (missing, extra []string) {
	for _, id := range sortedCopy(want) {
		if !slices.Contains(got, id) {
			missing = append(missing, id)
		}
	}
	for _, id := range sortedCopy(got) {
		if !slices.Contains(want, id) {
			extra = append(extra, id)
		}
	}
	return missing, extra
}

// TestMutationMatrix: see the comment at the top of this file.
func TestMutationMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the mutation matrix runs grantbench once per defect; skipped with -short")
	}
	if _, err := flows.FindChrome(); err != nil {
		t.Skipf("no Chrome or Chromium for the browser checks (AC1, AC15, D1, D4): %v", err)
	}
	started := time.Now()
	deadline := started.Add(matrixTimeout)
	if d, ok := t.Deadline(); ok {
		deadline = d.Add(-20 * time.Second)
	}
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	env := newMatrixEnv(ctx, t)

	checks := catalog.All()
	mockDefects := mockprovider.Defects()
	settings := fairSettings()
	checkCatalogueAgrees(t, DefectChecks(checks), mockDefects)

	var (
		mu         sync.Mutex
		result     Result
		conformCPU time.Duration
		cleanRan   bool
		anyBroken  bool
		// A run keeps about one core busy (the conform process and its
		// share of the browser), so as many runs as cores, or
		// GRANTBENCH_MATRIX_JOBS.
		slots = make(chan struct{}, matrixJobs())
	)
	acquire := func() func() {
		slots <- struct{}{}
		return func() { <-slots }
	}
	runOne := func(t *testing.T, r conformRun) (observation, bool) {
		t.Helper()
		defer acquire()()
		runStart := time.Now()
		obs := env.conform(ctx, t, r)
		t.Logf("run took %s (conform CPU %s): %d passed, %d warned, %d failed, %d skipped", time.Since(runStart).Round(100*time.Millisecond),
			obs.cpu.Round(10*time.Millisecond), len(obs.passed), len(obs.warned), len(obs.failed), len(obs.skipped))
		mu.Lock()
		conformCPU += obs.cpu
		mu.Unlock()
		for _, b := range obs.broken {
			t.Errorf("broken run: %s", b)
		}
		if len(obs.broken) > 0 {
			mu.Lock()
			anyBroken = true
			mu.Unlock()
		}
		return obs, len(obs.broken) == 0
	}
	t.Run("runs", func(t *testing.T) {
		t.Run("clean", func(t *testing.T) {
			t.Parallel()
			obs, ok := runOne(t, conformRun{})
			if !ok {
				return
			}
			for _, c := range checks {
				if c.Area == "rp" {
					continue
				}
				if !slices.Contains(obs.passed, c.ID) && !slices.Contains(obs.failed, c.ID) && !slices.Contains(obs.warned, c.ID) && !slices.Contains(obs.skipped, c.ID) {
					t.Errorf("%s: in the catalogue but no spec ran for it", c.ID)
				}
			}
			expectExactly(t, "the clean mock", "failed", obs.failed, nil)
			expectExactly(t, "the clean mock", "warned", obs.warned, nil)
			for _, id := range obs.skipped {
				t.Errorf("%s was skipped against the clean mock, which supports every check", id)
			}
			mu.Lock()
			result.Clean = CleanRun{Passed: obs.passed, Warned: obs.warned, Failed: obs.failed, Skipped: obs.skipped}
			cleanRan = true
			mu.Unlock()
		})
		for _, d := range mockDefects {
			t.Run(d.Name, func(t *testing.T) {
				t.Parallel()
				obs, ok := runOne(t, conformRun{defect: d.Name})
				if !ok {
					return
				}
				for _, id := range d.Checks {
					if !slices.Contains(obs.failed, id) {
						t.Errorf("defect %s not caught: %s, which CHECKS.md names for it, did not fail", d.Name, id)
					}
				}
				what := "defect " + d.Name + " (Breaks and Warns in mockprovider/defects.go)"
				expectExactly(t, what, "failed", obs.failed, d.Breaks)
				expectExactly(t, what, "warned", obs.warned, d.Warns)
				if t.Failed() {
					t.Logf("measured: Breaks: %s, Warns: %s", goList(obs.failed), goList(obs.warned))
				}
				mu.Lock()
				result.Defects = append(result.Defects, DefectRun{Name: d.Name, Checks: d.Checks, Failed: obs.failed, Warned: obs.warned, Skipped: obs.skipped})
				mu.Unlock()
			})
		}
		for _, s := range settings {
			t.Run("setting/"+s.Name, func(t *testing.T) {
				t.Parallel()
				obs, ok := runOne(t, conformRun{args: s.Args})
				if !ok {
					return
				}
				what := "fair setting " + s.Name + " (a legitimate behaviour)"
				expectExactly(t, what, "failed", obs.failed, nil)
				expectExactly(t, what, "warned", obs.warned, s.Warns)
				mu.Lock()
				result.Settings = append(result.Settings, SettingRun{Name: s.Name, Args: s.Args, Passed: obs.passed, Warned: obs.warned, Failed: obs.failed, Skipped: obs.skipped})
				mu.Unlock()
			})
		}
	})
	result.Finish()
	t.Logf("mutation matrix: %d defects, %d settings and the clean run, whole catalogue each, in %s (conform processes: %s CPU)",
		len(result.Defects), len(result.Settings), time.Since(started).Round(100*time.Millisecond), conformCPU.Round(100*time.Millisecond))
	if ran := len(result.Defects) + len(result.Settings); ran != len(mockDefects)+len(settings) || !cleanRan || anyBroken {
		// go test -run 'TestMutationMatrix/runs/NAME$' runs one defect: its
		// sets are asserted, but there is no whole result to compare; nor is
		// there after a broken run.
		t.Logf("%d of %d runs complete: %s neither compared nor written", ran, len(mockDefects)+len(settings), resultPath)
		return
	}
	observed, err := result.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(updateEnv) == "1" {
		// Written even when sets moved (the test still fails on them), so
		// that one run measures them all: copy each "measured:" line into
		// defects.go, and TestResultMatchesDefects checks it was.
		if err := os.WriteFile(resultPath, observed, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; run `go generate ./suites/matrix` to refresh docs/checks.md", resultPath)
		return
	}
	if t.Failed() {
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
// defect column name the same defects with the same checks, and that each
// defect's Breaks holds its Checks.
func checkCatalogueAgrees(t *testing.T, named map[string][]string, mock []mockprovider.DefectInfo) {
	t.Helper()
	inMock := map[string]bool{}
	for _, d := range mock {
		inMock[d.Name] = true
		want := sortedCopy(named[d.Name])
		if got := sortedCopy(d.Checks); !slices.Equal(got, want) {
			t.Errorf("defect %s: the mock says CHECKS.md names it for %v, CHECKS.md names it for %v", d.Name, got, want)
		}
		if len(d.Checks) == 0 && len(d.Warns) == 0 {
			t.Errorf("defect %s: CHECKS.md names no check for it, and it makes none warn", d.Name)
		}
		for _, id := range d.Checks {
			if !slices.Contains(d.Breaks, id) {
				t.Errorf("defect %s: Breaks %v lacks %s, a check CHECKS.md names for it", d.Name, d.Breaks, id)
			}
		}
	}
	for name := range named {
		if !inMock[name] {
			t.Errorf("CHECKS.md names defect %s, which the mock provider does not have", name)
		}
	}
}

// matrixJobs is how many conform runs go at once: GRANTBENCH_MATRIX_JOBS, or
// the number of cores (at least 2: a run also waits on its browser).
func matrixJobs() int {
	if n, err := strconv.Atoi(os.Getenv("GRANTBENCH_MATRIX_JOBS")); err == nil && n > 0 {
		return n
	}
	return max(2, runtime.NumCPU())
}

// goList writes check IDs as a Go literal, to paste into defects.go.
func goList(ids []string) string {
	ids = sortedCopy(ids)
	if len(ids) == 0 {
		return "nil"
	}
	return `[]string{"` + strings.Join(ids, `", "`) + `"}`
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
