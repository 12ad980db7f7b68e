// Command grantbench is a conformance and load-testing harness for OAuth 2.0 and
// OpenID Connect: it bundles a mock authorization server, runs the conformance
// suites against a target, replays flows under load and writes reports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at link time: -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. Each lives in its own file and registers itself in
// commands from an init function, so subcommands never edit each other's files.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("grantbench: subcommand registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// Exit codes, as the README and every command's -h give them.
const (
	exitOK          = 0
	exitFailed      = 1 // a check failed or a threshold was breached
	exitUsage       = 2 // bad usage or config
	exitUnreachable = 3 // the target could not be reached
)

// exitError carries the process exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad usage or configuration (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// failedErrorf reports a failed check or breached threshold (exit 1).
func failedErrorf(format string, args ...any) error {
	return &exitError{code: exitFailed, err: fmt.Errorf(format, args...)}
}

// unreachableErrorf reports a target that could not be reached (exit 3).
func unreachableErrorf(format string, args ...any) error {
	return &exitError{code: exitUnreachable, err: fmt.Errorf(format, args...)}
}

// parseFlags parses the flags of a subcommand that takes no positional
// arguments. help is true when -h printed the flags: the command then ends
// with no error. Errors are usage errors (exit 2) prefixed with name.
func parseFlags(fs *flag.FlagSet, args []string, name string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageErrorf("%s: %v", name, err)
	}
	if fs.NArg() > 0 {
		return false, usageErrorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return false, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "grantbench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return usageErrorf("no subcommand given")
		}
		return nil
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "grantbench", version)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return usageErrorf("unknown subcommand %q", args[0])
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: grantbench <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if commands[name].summary == "" { // hidden (fixtures such as example-app)
			continue
		}
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "  version    print the version\n\nRun 'grantbench <command> -h' for a command's flags.")
}
