//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what a command writes to tty, the
// test reads from pty, and tty is a terminal to the command.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(pty.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		pty.Close()
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(pty.Fd()), unix.TIOCGPTN)
	if err != nil {
		pty.Close()
		t.Skipf("pseudo-terminal number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Skipf("opening /dev/pts/%d: %v", n, err)
	}
	t.Cleanup(func() { tty.Close(); pty.Close() })
	return pty, tty
}

// runOnTerminal runs `grantbench argv...` in a child process whose stdout
// and stderr are a terminal, and returns what it wrote there.
func runOnTerminal(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	pty, tty := openPTY(t)
	encoded, _ := json.Marshal(argv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestConformChild$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), conformChildEnv+"="+string(encoded))
	cmd.Stdout, cmd.Stderr = tty, tty
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, pty); close(copied) }()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the child holds the terminal now: when it exits, reading the pty
	// ends (EIO) after the last of its output.
	tty.Close()
	if err := cmd.Wait(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output never ended")
	}
	return out.String()
}

// TestColoursOnlyOnATerminalWithoutNoColor: conform and rp colour their
// output on a terminal, never with NO_COLOR set (https://no-color.org), and
// never when stdout is not a terminal (the README's test runs every command
// with a pipe and finds no escape there).
func TestColoursOnlyOnATerminalWithoutNoColor(t *testing.T) {
	t.Parallel()
	const esc = "\x1b["
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"conform", []string{"conform", "--label-filter", "M1", "--out", ""}},
		{"rp", []string{"rp", "--app", goappProfile(t, ""), "--label-filter", "P0", "--out", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Unset NO_COLOR in the child (an empty value counts as unset).
			coloured := runOnTerminal(t, []string{"NO_COLOR="}, tc.argv...)
			if !bytes.Contains([]byte(coloured), []byte(esc)) {
				t.Fatalf("no colours on a terminal: the test cannot tell colours apart\n%s", coloured)
			}
			plain := runOnTerminal(t, []string{"NO_COLOR=1"}, tc.argv...)
			if bytes.Contains([]byte(plain), []byte(esc)) {
				t.Errorf("colours with NO_COLOR=1:\n%q", plain)
			}
			var stdout bytes.Buffer
			code, output := runChild(t, []string{"NO_COLOR="}, tc.argv...)
			stdout.WriteString(output)
			if bytes.Contains(stdout.Bytes(), []byte(esc)) {
				t.Errorf("colours (exit %d) with stdout not a terminal:\n%q", code, output)
			}
		})
	}
}

func TestUseColor(t *testing.T) {
	_, tty := openPTY(t)
	t.Setenv("NO_COLOR", "")
	if !useColor(tty, false) {
		t.Error("no colour on a terminal")
	}
	if useColor(tty, true) {
		t.Error("colour with --no-color")
	}
	if useColor(&bytes.Buffer{}, false) {
		t.Error("colour into a buffer")
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(tty, false) {
		t.Error("colour with NO_COLOR set")
	}
}
