package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/redact"
)

// Files names the outputs to write; an empty name skips that output and "-"
// means the given stdout.
type Files struct {
	HTML     string
	Markdown string
	JUnit    string // needs conformance results
}

// WriteFiles renders in into the named files. Each file is written whole
// (through a temporary file and a rename) so a reader never sees half a
// report; folders are created as needed.
func WriteFiles(in Input, files Files, opts HTMLOptions, stdout io.Writer) error {
	if files.JUnit != "" && in.Conformance == nil {
		return errors.New("reports: JUnit needs conformance results (results.json)")
	}
	outputs := []struct {
		name   string
		render func(io.Writer) error
	}{
		{files.HTML, func(w io.Writer) error { return WriteHTML(w, in, opts) }},
		{files.Markdown, func(w io.Writer) error { return WriteMarkdown(w, in) }},
		{files.JUnit, func(w io.Writer) error { return WriteJUnit(w, in.Conformance) }},
	}
	for _, out := range outputs {
		if out.name == "" {
			continue
		}
		var b bytes.Buffer
		if err := out.render(&b); err != nil {
			return err
		}
		if out.name == "-" {
			if _, err := stdout.Write(b.Bytes()); err != nil {
				return fmt.Errorf("reports: write to stdout: %w", err)
			}
			continue
		}
		if err := writeFileAtomic(out.name, b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone already after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return nil
}

// WriteGinkgoResults writes what a conformance run leaves for people and CI
// into dir: results.json (the Ginkgo reports, redacted by r, in the
// `ginkgo --json-report` layout that ReadFiles reads back) and junit.xml (one
// test case per check, see WriteJUnit). Use it instead of Ginkgo's
// GenerateJSONReport and GenerateJUnitReport, which write failure messages,
// captured output and report entries as they are.
func WriteGinkgoResults(dir string, reps []types.Report, r *redact.Redactor) error {
	return WriteGinkgoResultsWith(dir, reps, r, nil)
}

// WriteGinkgoResultsWith is WriteGinkgoResults that also records what the run
// judged (info, when not nil) in results.json, for every report made from it.
func WriteGinkgoResultsWith(dir string, reps []types.Report, r *redact.Redactor, info *RunInfo) error {
	if info != nil && len(reps) > 0 {
		reps = slices.Clone(reps)
		run := *info
		if run.Start.IsZero() {
			run.Start = reps[0].StartTime
		}
		reps[0].SpecReports = append(types.SpecReports{runSpec(run)}, reps[0].SpecReports...)
	}
	redacted, err := RedactGinkgoReports(r, reps)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(redacted, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: encode results.json: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.json"), data); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, NewConformance(redacted, r, dir)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "junit.xml"), b.Bytes())
}

// maxResultFileBytes bounds one results file: an hour-long load run or a
// full catalogue with its evidence is a few megabytes; anything past this
// is not a grantbench result, and reading it whole would only exhaust memory.
const maxResultFileBytes = 64 << 20

// readResultFile reads a whole results file, refusing more than
// maxResultFileBytes: a regular file by its size, before reading; anything
// else (a pipe, /dev/zero, which never ends) by reading at most that much.
func readResultFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	defer f.Close()
	tooLarge := fmt.Errorf("reports: %s is larger than %d MiB: not a grantbench results file", path, maxResultFileBytes>>20)
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > maxResultFileBytes {
		return nil, tooLarge
	}
	// In chunks, joined once: io.ReadAll's doubling would hold up to three
	// times the limit at its peak.
	var chunks [][]byte
	total := 0
	for {
		chunk := make([]byte, 1<<20)
		n, err := io.ReadFull(f, chunk)
		chunks, total = append(chunks, chunk[:n]), total+n
		if total > maxResultFileBytes {
			return nil, tooLarge
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reports: read %s: %w", path, err)
		}
	}
	return bytes.Join(chunks, nil), nil
}

// ReadOptions say how ReadFilesWith reads saved results.
type ReadOptions struct {
	// Redactor hides the run's secrets in text from the run (nil: by shape
	// and place only).
	Redactor *redact.Redactor
	// Force merges load results of different plans or targets (see
	// CheckMergeable); duplicates are refused even then.
	Force bool
}

// ReadFiles reads saved results, telling each file's kind by its content:
// Ginkgo reports (results.json) are joined, load results (load.json) merged
// with loadresult.Merge. Text from the run is redacted by r; screenshots are
// found relative to their results file.
func ReadFiles(r *redact.Redactor, paths ...string) (Input, error) {
	return ReadFilesWith(ReadOptions{Redactor: r}, paths...)
}

// ReadFilesWith is ReadFiles with options. Several load results are merged
// only when CheckMergeable allows it.
func ReadFilesWith(opts ReadOptions, paths ...string) (Input, error) {
	r := opts.Redactor
	var in Input
	if len(paths) == 0 {
		return in, errors.New("reports: no result files given")
	}
	var loads []NamedLoad
	for _, path := range paths {
		data, err := readResultFile(path)
		if err != nil {
			return in, err
		}
		kind, err := DetectKind(data)
		if err != nil {
			return in, fmt.Errorf("%s: %w", path, err)
		}
		switch kind {
		case KindConformance:
			reps, err := ReadGinkgoReports(data)
			if err != nil {
				return in, fmt.Errorf("%s: %w", path, err)
			}
			c := NewConformance(reps, r, filepath.Dir(path))
			if in.Conformance == nil {
				in.Conformance = c
			} else {
				in.Conformance.Suites = append(in.Conformance.Suites, c.Suites...)
				in.Conformance.Runs = append(in.Conformance.Runs, c.Runs...)
				in.Conformance.Checks = append(in.Conformance.Checks, c.Checks...)
				in.Conformance.sortChecks()
			}
		case KindLoad:
			res, err := ReadLoad(data)
			if err != nil {
				return in, fmt.Errorf("%s: %w", path, err)
			}
			loads = append(loads, NamedLoad{Path: path, Result: res})
		}
	}
	switch len(loads) {
	case 0:
	case 1:
		in.Load = loads[0].Result
	default:
		merged, err := MergeLoads(loads, opts.Force)
		if err != nil {
			return in, err
		}
		in.Load = merged
	}
	if in.Load != nil {
		in.Load.Target = r.URL(in.Load.Target)
	}
	return in, nil
}

// ReadLoadFile reads one load.json with ReadLoad's checks and bounds.
func ReadLoadFile(path string) (*loadresult.Result, error) {
	data, err := readResultFile(path)
	if err != nil {
		return nil, err
	}
	kind, err := DetectKind(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if kind != KindLoad {
		return nil, fmt.Errorf("%s: reports: holds %s, not a load result", path, kind)
	}
	res, err := ReadLoad(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}
