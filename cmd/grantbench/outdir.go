package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// A run's results must never be lost to an output path that cannot be
// written: every command that writes results checks the place a flag names
// before the run starts (a usage error naming the flag, exit 2, before any
// work), and if writing there still fails at the end (the disk filled, the
// directory went away) writes the results to a fallback directory instead and
// names it. The helpers here are shared by conform, rp, load and report.

// outputDir is the directory a command's flag names for its results.
type outputDir struct {
	command string // "load", for messages
	flag    string // "--out", as the user types it
	dir     string // as given
	// fallback is where the results went when writing to dir failed ("" while
	// they went to dir), and writeErr why.
	fallback string
	writeErr error
}

// prepareOutDir creates dir (and its parents) and proves it writable with a
// probe file, before the command runs anything. The error is a usage error
// naming the flag.
func prepareOutDir(command, flag, dir string) (*outputDir, error) {
	if dir == "" {
		dir = "." // the working directory, as filepath.Join("", name) has it
	}
	o := &outputDir{command: command, flag: flag, dir: dir}
	if err := probeDir(dir); err != nil {
		return nil, usageErrorf("%s: %s %s cannot hold the results: %v", command, flag, dir, err)
	}
	return o, nil
}

// probeDir makes dir and checks that a file can be created in it.
func probeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrapPathError(err)
	}
	f, err := os.CreateTemp(dir, ".grantbench-probe-*")
	if err != nil {
		return unwrapPathError(err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// unwrapPathError keeps a *PathError's cause and path without Go's "open"
// or "mkdir" operation prefix, which says nothing to a user.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// write runs write into the directory; when that fails, into a fresh
// fallback directory under the system's temporary directory (then the
// working directory), and remembers both. It returns an error only when the
// results could be written nowhere.
func (o *outputDir) write(write func(dir string) error) error {
	err := write(o.dir)
	if err == nil {
		return nil
	}
	o.writeErr = err
	for _, parent := range []string{os.TempDir(), "."} {
		fb, mkErr := os.MkdirTemp(parent, "grantbench-"+o.command+"-results-")
		if mkErr != nil {
			continue
		}
		if fbErr := write(fb); fbErr == nil {
			o.fallback = fb
			return nil
		}
	}
	return fmt.Errorf("%s: writing the results to %s %s failed (%v), and so did writing them to a temporary directory", o.command, o.flag, o.dir, err)
}

// Dir is where the results are: the flag's directory, or the fallback.
func (o *outputDir) Dir() string {
	if o.fallback != "" {
		return o.fallback
	}
	return o.dir
}

// notice tells on w where the results went when they did not go where the
// flag said; it prints nothing otherwise.
func (o *outputDir) notice(w io.Writer) {
	if o.fallback != "" {
		fmt.Fprintf(w, "%s: could not write the results to %s %s (%v); they are in %s instead\n", o.command, o.flag, o.dir, o.writeErr, o.fallback)
	}
}

// problem is the usage error (exit 2) for results written to the fallback,
// nil when they went where the flag said. A command returns it when its run
// itself succeeded: the exit code then says the flag's directory is at fault,
// never a check or threshold.
func (o *outputDir) problem() error {
	if o.fallback == "" {
		return nil
	}
	return usageErrorf("%s: %s %s could not be written (%v); the results are in %s", o.command, o.flag, o.dir, o.writeErr, o.fallback)
}

// prepareOutFile checks that a file a flag names can be created: its
// directory is made and probed as prepareOutDir does. "" and "-" (stdout)
// need nothing.
func prepareOutFile(command, flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageErrorf("%s: %s %s is a directory; give a file name", command, flag, path)
	}
	if err := probeDir(filepath.Dir(path)); err != nil {
		return usageErrorf("%s: %s %s cannot be written: %v", command, flag, path, err)
	}
	return nil
}

// writeFiles calls write with the output files the flags name ("" for off,
// "-" for stdout). When that fails, it calls write again with the same file
// names in a fresh temporary directory, so that the rendered outputs are not
// lost, and returns the paths written and a usage error (exit 2) naming the
// fallback; err is set only when both attempts failed.
func writeFiles(command string, paths []string, write func(paths []string) error) (written []string, problem, err error) {
	firstErr := write(paths)
	if firstErr == nil {
		return paths, nil, nil
	}
	fb, mkErr := os.MkdirTemp("", "grantbench-"+command+"-results-")
	if mkErr != nil {
		return nil, nil, fmt.Errorf("%s: %w", command, firstErr)
	}
	moved := make([]string, len(paths))
	for i, p := range paths {
		if p == "" || p == "-" {
			continue // off, or stdout: already written, or never a file
		}
		moved[i] = filepath.Join(fb, filepath.Base(p))
	}
	if err := write(moved); err != nil {
		return nil, nil, fmt.Errorf("%s: %w (and writing to %s failed too: %v)", command, firstErr, fb, err)
	}
	return moved, usageErrorf("%s: %v; the outputs are in %s instead", command, firstErr, fb), nil
}
