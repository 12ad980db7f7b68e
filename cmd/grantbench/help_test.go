package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// helpOf runs `grantbench ARGS... -h` and returns what it printed.
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "-h"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v -h: %v", args, err)
	}
	return stdout.String() + stderr.String()
}

// subcommands is every subcommand that takes flags, hidden ones included, and
// report's merge form.
func subcommands() [][]string {
	var all [][]string
	for name := range commands {
		all = append(all, []string{name})
	}
	all = append(all, []string{"report", "merge"})
	sort.Slice(all, func(i, j int) bool { return strings.Join(all[i], " ") < strings.Join(all[j], " ") })
	return all
}

var flagLine = regexp.MustCompile(`(?m)^  (-{1,2})([\w-]+)( (\S+))?$`)

// TestEverySubcommandHelp: -h shows how to call the command, one paragraph on
// what it is for, its exit codes, an example, and flags written as the README
// writes them (--name PLACEHOLDER), each placeholder saying what goes there.
func TestEverySubcommandHelp(t *testing.T) {
	generic := map[string]bool{"STRING": true, "VALUE": true, "INT": true, "INT64": true, "UINT": true, "FLOAT": true, "FLOAT64": true}
	for _, cmd := range subcommands() {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			help := helpOf(t, cmd...)
			if !strings.HasPrefix(help, "usage: grantbench "+cmd[0]) {
				t.Errorf("help does not start with the usage line:\n%s", help)
			}
			usageEnd := strings.Index(help, "\n\n")
			exits := strings.Index(help, "\n\nExit codes: 0 ")
			if usageEnd < 0 || exits < 0 {
				t.Fatalf("help has no exit codes (\"Exit codes: 0 ...\"):\n%s", help)
			}
			if purpose := strings.TrimSpace(help[usageEnd:exits]); len(purpose) < 100 || strings.Contains(purpose, "\n\n") {
				t.Errorf("purpose %q: want one paragraph saying what the command is for", purpose)
			}
			ex := strings.Index(help, "\n\nExample:\n  ")
			if ex < 0 || !strings.Contains(help[ex:], "grantbench "+cmd[0]) {
				t.Errorf("help has no example calling grantbench %s:\n%s", cmd[0], help)
			}
			for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
				dashes, flagName, placeholder := m[1], m[2], m[4]
				if (len(flagName) == 1) != (dashes == "-") {
					t.Errorf("flag %s%s: want --name (and -x for one letter), as the README writes flags", dashes, flagName)
				}
				if generic[placeholder] {
					t.Errorf("flag %s%s %s: the placeholder should say what goes there (a backquoted word in the usage)", dashes, flagName, placeholder)
				}
			}
		})
	}
}

// definedFlags are the flags a subcommand's help lists, as spelled there.
func definedFlags(t *testing.T, cmd ...string) map[string]bool {
	t.Helper()
	flags := map[string]bool{"-h": true, "--help": true}
	for _, m := range flagLine.FindAllStringSubmatch(helpOf(t, cmd...), -1) {
		flags[m[1]+m[2]] = true
	}
	return flags
}

// TestREADMEFlagStyleMatchesHelp: every flag the README's grantbench command
// lines give is one the subcommand's help lists, spelt as the help spells it
// (--name; -x for one letter).
func TestREADMEFlagStyleMatchesHelp(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`grantbench (\w[\w-]*)((?: merge)?)(.*)`)
	token := regexp.MustCompile(`(?:^|\s)(-{1,2}[a-zA-Z][\w-]*)`)
	inSh, checked := false, 0
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		code, _, _ := strings.Cut(line, " # ")
		m := call.FindStringSubmatch(code)
		if m == nil {
			continue
		}
		cmd := []string{m[1]}
		if m[2] != "" {
			cmd = append(cmd, "merge")
		}
		if _, ok := commands[m[1]]; !ok {
			t.Errorf("README.md:%d: grantbench %s is no subcommand", i+1, m[1])
			continue
		}
		defined := definedFlags(t, cmd...)
		for _, f := range token.FindAllStringSubmatch(m[3], -1) {
			checked++
			if !defined[f[1]] {
				t.Errorf("README.md:%d: grantbench %s %s: the help lists no such flag (it writes them as --name)", i+1, m[1], f[1])
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d flags of the README's command lines", checked)
	}
}
