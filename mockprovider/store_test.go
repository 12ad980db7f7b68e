package mockprovider

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type testEntry struct{ exp time.Time }

func (e *testEntry) expiry() time.Time { return e.exp }

func TestTableEvictsExpiredAndOldest(t *testing.T) {
	now := testStart
	tbl := newTable[*testEntry](100)
	for i := range 50 {
		tbl.put(keyOf(fmt.Sprint("a", i)), &testEntry{exp: now.Add(time.Minute)}, now)
	}
	now = now.Add(2 * time.Minute)
	tbl.put(keyOf("b"), &testEntry{exp: now.Add(time.Minute)}, now)
	if tbl.len() != 1 || len(tbl.queue)-tbl.head != 1 {
		t.Fatalf("expired entries not evicted: %d items, %d queued", tbl.len(), len(tbl.queue)-tbl.head)
	}
	// Past the cap the oldest go first, even unexpired.
	for i := range 250 {
		tbl.put(keyOf(fmt.Sprint("c", i)), &testEntry{exp: now.Add(time.Hour)}, now)
	}
	if tbl.len() != 100 {
		t.Fatalf("cap not kept: %d", tbl.len())
	}
	if _, ok := tbl.get(keyOf("c249")); !ok {
		t.Fatal("newest entry evicted")
	}
	if _, ok := tbl.get(keyOf("c0")); ok {
		t.Fatal("oldest entry kept past the cap")
	}
	// An entry whose expiry moved later is requeued, not dropped.
	tbl2 := newTable[*testEntry](100)
	e := &testEntry{exp: now.Add(time.Minute)}
	tbl2.put(keyOf("moving"), e, now)
	e.exp = now.Add(time.Hour)
	tbl2.put(keyOf("other"), &testEntry{exp: now.Add(time.Hour)}, now.Add(2*time.Minute))
	if _, ok := tbl2.get(keyOf("moving")); !ok {
		t.Fatal("an entry with a later expiry was evicted")
	}
}

// TestStateStaysBounded drives sustained token issuance while the clock
// moves: the live state must not grow past what one lifetime holds.
func TestStateStaysBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.SigningAlg = AlgES256
		c.AccessTokenFormat = AccessTokenOpaque
		c.Lifetimes.AccessToken = 10 * time.Second
		c.Limits.MaxEntries = 500
	})
	body := "grant_type=client_credentials"
	peak, peakBacking := 0, 0
	for i := range 3000 {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		rec := httptest.NewRecorder()
		f.p.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
		f.clock.Advance(100 * time.Millisecond) // 10 tokens per second of provider time
		f.p.store.mu.Lock()
		q := &f.p.store.access
		peak = max(peak, q.len(), len(q.queue)-q.head)
		peakBacking = max(peakBacking, len(q.queue))
		f.p.store.mu.Unlock()
	}
	// 10 s lifetime at 10 per second: about 100 alive at any time.
	if peak > 110 {
		t.Fatalf("state grew to %d entries for about 100 live tokens", peak)
	}
	// The queue's backing array is compacted: at most twice the live part plus slack.
	if peakBacking > 2*110+64 {
		t.Fatalf("eviction queue grew to %d", peakBacking)
	}
	// With a long lifetime the cap holds instead.
	f2 := newFixture(t, func(c *Config) { c.AccessTokenFormat = AccessTokenOpaque; c.Limits.MaxEntries = 200 })
	for range 1000 {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		f2.p.ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := f2.p.Stats()["state"]["access_tokens"]; n != 200 {
		t.Fatalf("cap of 200 not kept: %d", n)
	}
}
