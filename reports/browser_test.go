package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/grantbench/grantbench/redact"
)

// chromiumPath finds the browser the project installs (scripts/ensure-tools.sh).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine: `make tools` installs it")
	return ""
}

// TestHTMLInBrowser opens the report in headless Chromium, from a file as a
// reader would, and checks what a person sees: every chart drawn with a real
// size, no console errors (the page's Content-Security-Policy turns any
// external asset into one), and each failing check's evidence on screen.
// With GRANTBENCH_SCREENSHOTS=1 it saves a full-page screenshot to
// docs/report.png for the README (`make screenshots`).
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromiumPath(t)
	in, dir := sampleRun(t)
	generated := sampleStart
	if from := os.Getenv("GRANTBENCH_REPORT_FROM"); from != "" {
		// A real run's output folder (`grantbench demo`, or conform and
		// load with the same --out), for `make screenshots`.
		in, dir = savedResults(t, from)
		generated = time.Now()
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, in, HTMLOptions{Version: "dev", Generated: generated}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	write(t, path, page.Bytes())

	// The whole browser's life is bounded: this is a test.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	// The tab must exist before the console subscription sees anything.
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	var (
		mu       sync.Mutex
		problems []string
		done     = make(chan struct{})
	)
	consoleCtx, stopConsole := context.WithCancel(tab)
	messages := chromedp.Console(consoleCtx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
				mu.Unlock()
			}
		}
	}()

	if err := chromedp.Do(tab,
		chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(chromedp.CSS("#overall-verdict")),
	); err != nil {
		t.Fatalf("open the report: %v", err)
	}

	type box struct {
		ID            string
		Width, Height float64
		Paths         int
	}
	charts, err := chromedp.Run(tab, chromedp.Evaluate[[]box](`[...document.querySelectorAll("figure.chart")].map(f => {
		const svg = f.querySelector("svg");
		const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
		return {ID: f.id, Width: r.width, Height: r.height, Paths: svg ? svg.querySelectorAll("path").length : 0};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	wantCharts := 0
	if in.Load != nil {
		rendered, err := LoadCharts(in.Load)
		if err != nil {
			t.Fatal(err)
		}
		wantCharts = len(rendered)
		if wantCharts < 3 {
			t.Errorf("only %d charts for a load run", wantCharts)
		}
	}
	if len(charts) != wantCharts {
		t.Errorf("%d charts on the page, want %d: %+v", len(charts), wantCharts, charts)
	}
	for _, c := range charts {
		if c.Width < 100 || c.Height < 50 || c.Paths < 10 {
			t.Errorf("chart %s rendered %vx%v with %d paths", c.ID, c.Width, c.Height, c.Paths)
		}
	}

	// Every label of every chart inside its chart, as drawn with the fonts
	// this browser has (the layout used Liberation's metrics): an axis label
	// or a bar's name cut at the edge is the issue-14 complaint.
	type cut struct{ Chart, Text string }
	cuts, err := chromedp.Run(tab, chromedp.Evaluate[[]cut](`[...document.querySelectorAll("figure.chart svg")].flatMap(svg => {
		const box = svg.getBoundingClientRect();
		return [...svg.querySelectorAll("text")].filter(t => {
			const r = t.getBoundingClientRect();
			return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5);
		}).map(t => ({Chart: svg.closest("figure").id, Text: t.textContent}));
	})`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cuts {
		t.Errorf("chart %s: label %q is cut at the chart's edge", c.Chart, c.Text)
	}

	type evidence struct {
		Found       bool
		Height      float64
		Message     string
		Exchanges   int
		ImageWidths []float64
	}
	for _, cr := range in.Conformance.Checks {
		if cr.Verdict != VerdictFailed {
			continue
		}
		got, err := chromedp.Run(tab, chromedp.Evaluate[evidence](fmt.Sprintf(`(() => {
			const e = document.getElementById(%q);
			if (!e) return {Found: false};
			return {
				Found: true,
				Height: e.getBoundingClientRect().height,
				Message: e.querySelector(".failure-message").innerText,
				Exchanges: e.querySelectorAll("details.exchange").length,
				ImageWidths: [...e.querySelectorAll("img")].map(i => i.naturalWidth),
			};
		})()`, "evidence-"+cr.ID)))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !got.Found || got.Height < 20:
			t.Errorf("%s: evidence not on the page (%+v)", cr.ID, got)
		case !strings.Contains(got.Message, strings.SplitN(cr.Message, "\n", 2)[0]):
			t.Errorf("%s: page shows message %q, want %q", cr.ID, got.Message, cr.Message)
		case got.Exchanges != len(cr.Exchanges):
			t.Errorf("%s: %d exchanges shown, want %d", cr.ID, got.Exchanges, len(cr.Exchanges))
		case len(got.ImageWidths) != len(cr.Screenshots):
			t.Errorf("%s: %d screenshots shown, want %d", cr.ID, len(got.ImageWidths), len(cr.Screenshots))
		}
		for _, w := range got.ImageWidths {
			if w == 0 {
				t.Errorf("%s: a screenshot did not decode", cr.ID)
			}
		}
	}

	if os.Getenv("GRANTBENCH_SCREENSHOTS") == "1" {
		// The README's picture shows what a failed run says: the passing
		// rows (most of the catalogue) are folded away for it.
		if _, err := chromedp.Run(tab, chromedp.Evaluate[int](`(() => {
			const rows = [...document.querySelectorAll("tr.row-passed")];
			rows.forEach(r => r.style.display = "none");
			document.querySelectorAll("section.area").forEach(a => {
				if (!a.querySelector("tr.row-failed, tr.row-warning")) a.style.display = "none";
			});
			return rows.length;
		})()`)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("../docs", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../docs/report.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote docs/report.png (%d bytes)", len(png))
	}

	// A round trip after the checks, so messages from the load have arrived.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatal(err)
	}
	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("console: %s", p)
	}
}

// savedResults reads results.json and load.json from a run's output folder.
func savedResults(t *testing.T, dir string) (Input, string) {
	t.Helper()
	var paths []string
	for _, name := range []string{"results.json", "load.json"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		t.Fatalf("GRANTBENCH_REPORT_FROM=%s holds neither results.json nor load.json", dir)
	}
	in, err := ReadFiles(redact.New(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	return in, t.TempDir()
}
