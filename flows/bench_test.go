package flows

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkClientCredentials measures the per-call cost the load runner pays
// for a flow, beside x/oauth2 alone on the same connection pool: the
// difference is what flows adds (trace, typing). The provider is the small
// fake (no signing), so the client side dominates.
func BenchmarkClientCredentials(b *testing.B) {
	tg := newFakeProvider(b).target()
	ctx := context.Background()
	if err := tg.Discover(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("flows/RecordTrace", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{Record: RecordTrace}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("flows/RecordAll", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ClientCredentials(ctx, tg, ClientCredentialsOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("x-oauth2", func(b *testing.B) {
		c := tg.Clients.Confidential
		conf := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: tg.Metadata.TokenEndpoint,
			Scopes: []string{"api.read"}, AuthStyle: oauth2.AuthStyleInHeader}
		octx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: tg.http().base})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := conf.Token(octx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkAuthCodeConsent runs the authorization code flow against the
// bundled mock with 8 flows at once, as `grantbench load --flow
// authorization_code --workers 8 [--consent browser --tabs 8]` does, once with
// HTTP consent (form posts) and once in headless Chromium, side by side. It
// reports flows/s and the CPU each flow costs this process and its browser
// (cpu-ms/flow, from /proc): on a machine shared with other work the CPU
// figure is the steadier one, and 2000/cpu-ms is what two idle cores would
// reach. The browser's tabs are open and logged in before the timer starts.
func BenchmarkAuthCodeConsent(b *testing.B) {
	tg := startMock(b)
	run := func(b *testing.B, opts AuthCodeOptions) {
		ctx := context.Background()
		if _, err := AuthCode(ctx, tg, opts); err != nil { // log in (the browser's shared session)
			b.Fatal(err)
		}
		if opts.Browser != nil {
			if err := opts.Browser.Warm(ctx, 8); err != nil {
				b.Fatal(err)
			}
		}
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
		cpu0 := processTreeCPU(b)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			session := NewSession()
			o := opts
			if o.Browser == nil {
				o.Session = session
			}
			for pb.Next() {
				if _, err := AuthCode(ctx, tg, o); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		elapsed := time.Since(start)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
		b.ReportMetric(float64((processTreeCPU(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/flow")
	}
	// One browser for every run of the sub-benchmark (Go runs it again with a
	// growing b.N).
	br := newTestBrowserWith(b, BrowserOptions{MaxTabs: 8})
	b.Run("http", func(b *testing.B) { run(b, AuthCodeOptions{Consent: ConsentHTTP, Record: RecordTrace}) })
	b.Run("browser", func(b *testing.B) { run(b, AuthCodeOptions{Consent: ConsentBrowser, Browser: br, Record: RecordTrace}) })
}

// processTreeCPU is the user and system CPU time this process and every
// process below it (the browser's) have used so far, read from /proc.
func processTreeCPU(tb testing.TB) time.Duration {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Skip("no /proc: ", err)
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which may hold spaces: state, ppid, ...
		_, rest, ok := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		parent[pid], ticks[pid] = ppid, utime+stime
	}
	self := os.Getpid()
	var total int64
	for pid, t := range ticks {
		for p := pid; p > 1; p = parent[p] {
			if p == self {
				total += t
				break
			}
		}
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(total) * time.Second / clockTicks
}
