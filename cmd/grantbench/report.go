package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/reports"
)

func init() {
	register("report", "render saved results (HTML, Markdown, JUnit) or merge load results", runReport)
}

// reportOptions are the flags of `grantbench report`.
type reportOptions struct {
	html     string
	markdown string
	junit    string
	title    string
	force    bool
}

var reportHelp = helpText{
	usage: "grantbench report FILE... [-o FILE] [--markdown FILE] [--junit FILE] [--title TEXT] [--force]\n       grantbench report merge [-o FILE] [--force] FILE...",
	purpose: "Renders saved results: results.json (conformance, a Ginkgo JSON report) and load.json (a load run), told apart by content, " +
		"to one self-contained HTML page, a Markdown summary (for CI step summaries) and JUnit XML. Several load.json files are merged first. " +
		"\"-\" as an output writes it to stdout, and then only it: the default report.html is written only when -o names it. " +
		"Secrets in the results are shown shortened. The merge form combines load results (shards of one run) with their HDR histograms " +
		"and judges their thresholds again. A file given twice, or two files of the same run and shard, are refused; so are runs against " +
		"different targets or of different plans, unless --force.",
	exits:   "0 written; 1 report merge: a threshold was breached on the merged result; 2 bad usage, an unreadable result file or an output that cannot be written (the message names the flag or file)",
	example: "grantbench report out/results.json out/load.json -o out/report.html --markdown out/summary.md\ngrantbench report merge -o out/merged.json out/shard-*/load.json",
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return runReportMerge(args[1:], stdout, stderr)
	}
	var o reportOptions
	fs := reportFlags(&o, stderr)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErrorf("report: %v", err)
	}
	if len(files) == 0 {
		fs.Usage()
		return usageErrorf("report: no result files given (results.json, load.json)")
	}
	// An output on stdout is the whole answer (`report --markdown - | ...`):
	// the HTML report's default file is then written only when asked for.
	if countStdout(o.markdown, o.junit) > 0 && !flagSet(fs, "o") {
		o.html = ""
	}
	if o.html == "" && o.markdown == "" && o.junit == "" {
		return usageErrorf("report: every output is off: give -o, --markdown or --junit")
	}
	if countStdout(o.html, o.markdown, o.junit) > 1 {
		return usageErrorf("report: only one output can go to stdout (-)")
	}
	for _, f := range []struct{ flag, path string }{{"-o", o.html}, {"--markdown", o.markdown}, {"--junit", o.junit}} {
		if err := prepareOutFile("report", f.flag, f.path); err != nil {
			return err
		}
	}
	in, err := reports.ReadFilesWith(reports.ReadOptions{Redactor: redact.New(), Force: o.force}, files...)
	if err != nil {
		return usageErrorf("report: %v", err)
	}
	in.Title = o.title
	if o.junit != "" && in.Conformance == nil {
		return usageErrorf("report: --junit needs conformance results (a results.json) among the files")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	written, problem, err := writeFiles("report", []string{o.html, o.markdown, o.junit}, func(p []string) error {
		return reports.WriteFiles(in, reports.Files{HTML: p[0], Markdown: p[1], JUnit: p[2]}, reports.HTMLOptions{Version: version}, stdout)
	})
	if err != nil {
		return err
	}
	// With a report on stdout, the summary goes to stderr to keep stdout clean.
	msgs := stdout
	if countStdout(o.html, o.markdown, o.junit) > 0 {
		msgs = stderr
	}
	fmt.Fprintln(msgs, in.Summary())
	for _, name := range written {
		if name != "" && name != "-" {
			fmt.Fprintln(msgs, "wrote", name)
		}
	}
	return problem
}

func reportFlags(o *reportOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("grantbench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setHelp(fs, reportHelp)
	fs.StringVar(&o.html, "o", "report.html", "write the HTML report to `file` (\"\" for none)")
	fs.StringVar(&o.markdown, "markdown", "", "write the Markdown summary to `file`")
	fs.StringVar(&o.junit, "junit", "", "write JUnit XML to `file` (needs results.json)")
	fs.StringVar(&o.title, "title", "", "the report's `title`")
	fs.BoolVar(&o.force, "force", false, "merge load results of different plans or targets")
	return fs
}

// runReportMerge merges load results, as `grantbench report merge` does.
func runReportMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grantbench report merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setHelp(fs, reportHelp)
	outPath := fs.String("o", "merged.json", "write the merged load result to `file`")
	force := fs.Bool("force", false, "merge load results of different plans or targets")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErrorf("report merge: %v", err)
	}
	if len(files) == 0 {
		fs.Usage()
		return usageErrorf("report merge: no load.json files given")
	}
	if *outPath == "" {
		return usageErrorf("report merge: -o must name a file")
	}
	if err := prepareOutFile("report merge", "-o", *outPath); err != nil {
		return err
	}
	loads := make([]reports.NamedLoad, 0, len(files))
	for _, f := range files {
		r, err := reports.ReadLoadFile(f)
		if err != nil {
			return usageErrorf("report merge: %v", err)
		}
		loads = append(loads, reports.NamedLoad{Path: f, Result: r})
	}
	merged, err := reports.MergeLoads(loads, *force)
	if err != nil {
		return usageErrorf("report merge: %v", err)
	}
	written, problem, err := writeFiles("report merge", []string{*outPath}, func(p []string) error { return merged.WriteFile(p[0]) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d load results into %s: %s\n", len(loads), written[0],
		reports.Input{Load: merged}.Summary())
	if failed := merged.Failed(); len(failed) > 0 {
		var names []string
		for _, v := range failed {
			names = append(names, fmt.Sprintf("%s (measured %s)", v.Threshold, v.Display))
		}
		return failedErrorf("report merge: threshold breached on the merged result: %s", strings.Join(names, ", "))
	}
	return problem
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func countStdout(names ...string) int {
	n := 0
	for _, name := range names {
		if name == "-" {
			n++
		}
	}
	return n
}

// parseInterspersed parses flags that may come before, between or after the
// file arguments ("report out/results.json -o r.html"), which the flag
// package alone stops at. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse consumed a "--" if there was one right before rest.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
