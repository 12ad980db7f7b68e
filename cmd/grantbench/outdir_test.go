package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/loadresult"
)

// unwritableDir is a path no one can create, root included: its parent is a
// regular file.
func unwritableDir(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(file, "out")
}

// TestOutputPathCheckedBeforeTheRun: every command that writes results refuses
// an output path that cannot be written before it runs anything (exit 2,
// naming the flag), rather than after the whole run (issue 14).
func TestOutputPathCheckedBeforeTheRun(t *testing.T) {
	bad := unwritableDir(t)
	goapp := filepath.Join("..", "..", "examples", "apps", "goapp", "app.yaml")
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"load", []string{"load", "--flow", "client_credentials", "--workers", "1", "--duration", "30s", "--progress", "off", "--out", bad}, "--out"},
		{"conform", []string{"conform", "--out", bad, "--no-color"}, "--out"},
		{"rp", []string{"rp", "--app", goapp, "--out", bad, "--no-color"}, "--out"},
		{"report html", []string{"report", "missing-results.json", "-o", filepath.Join(bad, "r.html")}, "-o"},
		{"report markdown", []string{"report", "missing-results.json", "-o", "", "--markdown", filepath.Join(bad, "s.md")}, "--markdown"},
		{"report junit", []string{"report", "missing-results.json", "-o", "", "--junit", filepath.Join(bad, "j.xml")}, "--junit"},
		{"report merge", []string{"report", "merge", "-o", filepath.Join(bad, "m.json"), "missing-load.json"}, "-o"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, tc.args, &stdout, &stderr)
			if code := exitCode(err, &stderr); code != exitUsage {
				t.Fatalf("exit %d, want %d (bad output path); stderr:\n%s", code, exitUsage, stderr.String())
			}
			if msg := err.Error(); !strings.Contains(msg, tc.flag+" ") || !strings.Contains(msg, "not a directory") {
				t.Errorf("error %q does not name %s and the cause", msg, tc.flag)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refused after %s: the run started before the output path was checked", d)
			}
			if stdout.Len() > 0 {
				t.Errorf("the command ran: stdout\n%s", stdout.String())
			}
		})
	}
}

// TestLoadResultSurvivesAnOutDirThatBreaksDuringTheRun: the directory --out
// names is fine at the start and replaced by a file during the run; the
// result goes to a fallback directory that the output names, and the exit
// code blames --out (2), not a threshold (1).
func TestLoadResultSurvivesAnOutDirThatBreaksDuringTheRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The run takes about a second; the directory goes away in the middle.
	go func() {
		time.Sleep(400 * time.Millisecond)
		_ = os.RemoveAll(out)
		_ = os.WriteFile(out, []byte("in the way\n"), 0o644)
	}()
	code, stdout, stderr := runLoadCmd(t, ctx, "--flow", "client_credentials", "--rate", "20", "--duration", "1s",
		"--progress", "off", "--out", out)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
	}
	var fallback string
	for _, line := range strings.Split(stdout, "\n") {
		if p, ok := strings.CutPrefix(line, "result: "); ok {
			fallback = p
		}
	}
	if fallback == "" || strings.HasPrefix(fallback, out) {
		t.Fatalf("summary names result %q, want a fallback outside %s:\n%s", fallback, out, stdout)
	}
	defer os.RemoveAll(filepath.Dir(fallback))
	if !strings.Contains(stderr, filepath.Dir(fallback)) {
		t.Errorf("stderr does not name the fallback %s:\n%s", fallback, stderr)
	}
	res, err := loadresult.ReadResult(fallback)
	if err != nil {
		t.Fatalf("fallback result: %v", err)
	}
	if res.Scenarios[0].Flows[loadresult.OutcomeOK] == 0 {
		t.Errorf("fallback result has no successful flows: %+v", res.Scenarios[0].Flows)
	}
}

func TestOutputDirFallback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	o, err := prepareOutDir("conform", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %v in %s", entries, dir)
	}
	refused := errors.New("disk full")
	err = o.write(func(d string) error {
		if d == dir {
			return refused
		}
		return os.WriteFile(filepath.Join(d, "junit.xml"), []byte("<testsuites/>"), 0o644)
	})
	if err != nil {
		t.Fatalf("write with a fallback: %v", err)
	}
	defer os.RemoveAll(o.Dir())
	if o.Dir() == dir {
		t.Fatal("the results stayed in the failing directory")
	}
	if _, err := os.Stat(filepath.Join(o.Dir(), "junit.xml")); err != nil {
		t.Errorf("fallback has no junit.xml: %v", err)
	}
	var notice bytes.Buffer
	o.notice(&notice)
	if !strings.Contains(notice.String(), o.Dir()) || !strings.Contains(notice.String(), "disk full") {
		t.Errorf("notice %q does not name the fallback and the cause", notice.String())
	}
	var ee *exitError
	if p := o.problem(); !errors.As(p, &ee) || ee.code != exitUsage || !strings.Contains(p.Error(), "--out") {
		t.Errorf("problem %v, want a usage error naming --out", p)
	}

	// Nowhere to write at all: the error says so.
	o2, err := prepareOutDir("conform", "--out", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := o2.write(func(string) error { return refused }); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write that fails everywhere: %v", err)
	}
}

func TestReportFilesFallback(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "summary.md")
	written, problem, err := writeFiles("report", []string{"", target, "-"}, func(p []string) error {
		if p[1] == target {
			return errors.New("reports: write summary.md: no space left on device")
		}
		return os.WriteFile(p[1], []byte("# summary\n"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(written[1]))
	if written[0] != "" || written[2] != "" || filepath.Base(written[1]) != "summary.md" || written[1] == target {
		t.Errorf("written %q", written)
	}
	if problem == nil || !strings.Contains(problem.Error(), filepath.Dir(written[1])) {
		t.Errorf("problem %v does not name the fallback", problem)
	}
}
