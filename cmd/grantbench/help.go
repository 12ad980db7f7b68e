package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// helpText is what a subcommand's -h prints above its flags: how to call it,
// one paragraph saying what it is for, its exit codes and an example. Every
// subcommand has one, so that -h alone is enough to use it.
type helpText struct {
	usage   string // the call, without "usage: ": "grantbench conform [--target FILE] ..."
	purpose string // one paragraph
	exits   string // "0 ...; 1 ...; 2 ...; 3 ..."
	example string // one or more command lines, one a line
}

// setHelp makes fs's -h print h, then the flags as printFlags writes them.
func setHelp(fs *flag.FlagSet, h helpText) {
	fs.Usage = func() { writeHelp(fs.Output(), fs, h) }
}

func writeHelp(w io.Writer, fs *flag.FlagSet, h helpText) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\n%s\n\nExample:\n", h.usage, wrap(h.purpose, 80), wrap("Exit codes: "+h.exits, 80))
	for _, line := range strings.Split(strings.TrimSpace(h.example), "\n") {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(line))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "\nFlags: none")
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, fs)
}

// printFlags lists fs's flags the way the README writes them: "--name
// PLACEHOLDER" (a one-letter flag "-o FILE"), the placeholder being the
// backquoted word of the flag's usage string in capitals, then the usage and
// a non-zero default. (flag.PrintDefaults writes "-name placeholder".)
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		placeholder, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s", flagSpelling(f.Name))
		if placeholder != "" {
			fmt.Fprintf(w, " %s", strings.ToUpper(placeholder))
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "0s" && def != "[]" {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(w, "\n      %s\n", strings.ReplaceAll(wrap(usage, 74), "\n", "\n      "))
	})
}

// flagSpelling is how the help and the README write a flag: two dashes, one
// for a one-letter flag (Go's flag package takes either).
func flagSpelling(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && n+1+len(word) > width {
			b.WriteByte('\n')
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// exitCodesChecks are the exit codes of the commands that judge checks.
const exitCodesChecks = "0 every check passed; 1 a check failed; 2 bad usage or configuration (the message names the flag or field); 3 the target could not be reached"

// useColor reports whether a command may colour what it writes to stdout:
// only on a terminal, and never when the NO_COLOR environment variable is set
// to anything (https://no-color.org) or --no-color is given.
func useColor(stdout io.Writer, noColorFlag bool) bool {
	if noColorFlag || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(stdout)
}
