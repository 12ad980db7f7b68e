package runner

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/grantbench/grantbench/loadresult"
)

// NewProgressPrinter returns a Progress callback writing to w. On a terminal it
// redraws one status line in place every report; otherwise it prints a plain line
// every `every` (and the final one), suitable for CI logs.
func NewProgressPrinter(w io.Writer, terminal bool, every time.Duration) func(Progress) {
	var mu sync.Mutex
	var lastLine time.Duration = -1
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		line := FormatProgress(p)
		if terminal {
			end := ""
			if p.Final {
				end = "\n"
			}
			fmt.Fprintf(w, "\r\x1b[K%s%s", line, end)
			return
		}
		if !p.Final && lastLine >= 0 && p.Elapsed-lastLine < every {
			return
		}
		lastLine = p.Elapsed
		fmt.Fprintln(w, line)
	}
}

// FormatProgress renders a snapshot as one line.
func FormatProgress(p Progress) string {
	planned := ""
	if p.Planned > 0 {
		planned = "/" + p.Planned.Round(time.Second).String()
	}
	errPct := 0.0
	if p.Flows > 0 {
		errPct = 100 * float64(p.Errors) / float64(p.Flows)
	}
	label := "running"
	if p.Final {
		label = "done"
	}
	return fmt.Sprintf("%s %s%s: %d flows, %.1f/s, p50 %s, p99 %s, errors %d (%.2f%%), dropped %d, in flight %d",
		label, p.Elapsed.Round(time.Second), planned, p.Flows, p.Rate, loadresult.FormatSeconds(p.P50.Seconds()),
		loadresult.FormatSeconds(p.P99.Seconds()), p.Errors, errPct, p.Dropped, p.InFlight)
}
