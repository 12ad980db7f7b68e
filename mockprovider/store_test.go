package mockprovider

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

type testEntry struct{ exp time.Time }

func (e *testEntry) expiry() time.Time { return e.exp }

func testTable(maxBytes int64) (*budget, *table[*testEntry]) {
	b := &budget{max: maxBytes}
	return b, newTable(b, "test", func(*testEntry) int64 { return 100 })
}

func TestTableEvictsExpired(t *testing.T) {
	now := testStart
	b, tbl := testTable(1 << 30)
	for i := range 50 {
		tbl.put(keyOf(fmt.Sprint("a", i)), &testEntry{exp: now.Add(time.Minute)}, now)
	}
	now = now.Add(2 * time.Minute)
	tbl.put(keyOf("b"), &testEntry{exp: now.Add(time.Minute)}, now)
	if tbl.len() != 1 || len(tbl.queue)-tbl.head != 1 {
		t.Fatalf("expired entries not evicted: %d items, %d queued", tbl.len(), len(tbl.queue)-tbl.head)
	}
	if one := tbl.entryBytes(100); tbl.bytes != one || b.used != one {
		t.Fatalf("charged %d (budget %d) for one entry of %d bytes", tbl.bytes, b.used, one)
	}
	if tbl.evicted != 0 {
		t.Fatalf("expiry counted as %d evictions by the bound", tbl.evicted)
	}
	// An entry whose expiry moved later is requeued, not dropped.
	e := &testEntry{exp: now.Add(time.Minute)}
	tbl.put(keyOf("moving"), e, now)
	e.exp = now.Add(time.Hour)
	tbl.put(keyOf("other"), &testEntry{exp: now.Add(time.Hour)}, now.Add(2*time.Minute))
	if _, ok := tbl.get(keyOf("moving")); !ok {
		t.Fatal("an entry with a later expiry was evicted")
	}
	// Removing gives the bytes back.
	before := b.used
	tbl.remove(keyOf("other"))
	if b.used != before-tbl.entryBytes(100) || tbl.has(keyOf("other")) {
		t.Fatalf("remove: budget %d, was %d", b.used, before)
	}
}

// TestBudgetEvictsOldestFirstAcrossKinds: past the bound, the oldest entries
// of the whole store go, whatever table holds them, until it fits again.
func TestBudgetEvictsOldestFirstAcrossKinds(t *testing.T) {
	now := testStart
	b := &budget{}
	older := newTable(b, "older", func(*testEntry) int64 { return 200 })
	newer := newTable(b, "newer", func(*testEntry) int64 { return 200 })
	one := older.entryBytes(200)
	b.max = 10 * one
	live := now.Add(time.Hour)
	for i := range 6 {
		older.put(keyOf(fmt.Sprint("o", i)), &testEntry{exp: live}, now)
	}
	for i := range 10 {
		newer.put(keyOf(fmt.Sprint("n", i)), &testEntry{exp: live}, now)
		if b.used > b.max {
			t.Fatalf("over the bound after a put: %d > %d", b.used, b.max)
		}
	}
	// 16 entries for room for 10: the 6 oldest (all of "older") went.
	if older.len() != 0 || newer.len() != 10 || older.evicted != 6 || newer.evicted != 0 {
		t.Fatalf("older %d (evicted %d), newer %d (evicted %d); want 0 (6), 10 (0)", older.len(), older.evicted, newer.len(), newer.evicted)
	}
	// Interleaved: the next put evicts newer's oldest, n0, not its latest.
	older.put(keyOf("o-late"), &testEntry{exp: live}, now)
	if newer.has(keyOf("n0")) || !newer.has(keyOf("n1")) || !older.has(keyOf("o-late")) {
		t.Fatal("the oldest entry of the store was not the one evicted")
	}
	if b.used != older.bytes+newer.bytes || b.used != 10*one {
		t.Fatalf("budget %d, tables %d + %d, want %d", b.used, older.bytes, newer.bytes, 10*one)
	}
}

// TestStateStaysBounded drives sustained token issuance while the clock
// moves: the live state must not grow past what one lifetime holds, and
// with long lifetimes the memory bound holds instead.
func TestStateStaysBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.SigningAlg = AlgES256
		c.AccessTokenFormat = AccessTokenOpaque
		c.Lifetimes.AccessToken = 10 * time.Second
	})
	body := "grant_type=client_credentials"
	token := func(p *Provider) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	peak, peakBacking := 0, 0
	for range 3000 {
		token(f.p)
		f.clock.Advance(100 * time.Millisecond) // 10 tokens per second of provider time
		f.p.store.mu.Lock()
		q := f.p.store.access
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
	// With a long lifetime the bound holds instead: 1 MiB of access tokens.
	f2 := newFixture(t, func(c *Config) {
		c.AccessTokenFormat = AccessTokenOpaque
		c.SigningAlg = AlgES256
		c.Limits.MaxStateBytes = 1 << 20
	})
	perEntry := f2.p.store.access.entryBytes(0)
	fits := int64(1<<20) / perEntry
	for range fits + 500 {
		token(f2.p)
	}
	stats := f2.p.Stats()
	if n := stats["state"]["access_tokens"]; n != fits {
		t.Fatalf("%d access tokens live, want the %d that fit in 1 MiB at %d bytes each", n, fits, perEntry)
	}
	if used := stats["state_bytes"]["access_tokens"]; used > 1<<20 || stats["state_evicted"]["access_tokens"] != 500 {
		t.Fatalf("%d bytes used, %d evicted; want at most 1 MiB and 500", used, stats["state_evicted"]["access_tokens"])
	}
}

// TestStateBytesTrackTheHeap fills each kind of state with records shaped
// as the provider makes them and compares what the budget charged with
// what the heap grew by: the bound is only a memory bound if the two agree.
func TestStateBytesTrackTheHeap(t *testing.T) {
	const n = 20000
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := &cfg.Clients[0]
	user := &cfg.Users[0]
	live := testStart.Add(time.Hour)
	scopes := func() []string { return strings.Fields("openid profile " + newID()[:8]) }
	newGrant := func() *grant {
		return &grant{exp: live, clientID: client.ID, user: user, subject: user.Subject, scopes: scopes(), authTime: testStart, nonce: newID()}
	}
	fills := map[string]func(s *store, i int){
		"authorization_codes": func(s *store, i int) {
			s.codes.put(keyOf(newSecret()), &codeRecord{grant: newGrant(), redirectURI: "http://127.0.0.1:45678/callback",
				challenge: newSecret()[:43], challengeMethod: "S256", exp: live}, testStart)
		},
		"access_tokens": func(s *store, i int) {
			s.access.put(keyOf(newSecret()), accessRecord{family: uint64(i), exp: live.UnixNano()}, testStart)
		},
		"grants": func(s *store, i int) {
			g := newGrant()
			g.id = uint64(i + 1)
			s.families.put(familyKey(g.id), g, testStart)
		},
		"refresh_tokens": func(s *store, i int) {
			s.refresh.put(keyOf(newSecret()), &refreshRecord{grant: nil, scope: "openid profile " + newID()[:8], issuedAt: testStart, exp: live}, testStart)
		},
		"sessions": func(s *store, i int) {
			s.sessions.put(keyOf(newSecret()), &sessionRecord{user: user, authTime: testStart, exp: live, consented: map[string][]string{}}, testStart)
		},
		"interactions": func(s *store, i int) {
			s.interactions.put(keyOf(newSecret()), &interaction{exp: live, client: client, scopes: scopes(),
				redirect:      redirectTarget{client: client, uri: "http://127.0.0.1:45678/callback", state: newID()},
				redirectParam: "http://127.0.0.1:45678/callback", responseType: "code", nonce: newID(),
				challenge: newSecret()[:43], method: "S256"}, testStart)
		},
	}
	for kind, fill := range fills {
		t.Run(kind, func(t *testing.T) {
			s := newStore(1 << 40)
			before := liveHeap()
			for i := range n {
				fill(s, i)
			}
			grown := liveHeap() - before
			var charged int64
			for _, st := range s.stats() {
				charged += st.bytes
			}
			runtime.KeepAlive(s)
			ratio := float64(charged) / float64(grown)
			t.Logf("%s: charged %d bytes/entry, heap grew %d bytes/entry (%.2f)", kind, charged/n, grown/n, ratio)
			// Charged at least what the heap holds (the bound is an upper
			// bound on the state's memory), and not more than twice it.
			if ratio < 0.9 || ratio > 2 {
				t.Errorf("charged %d bytes for a heap growth of %d (ratio %.2f, want 0.9 to 2)", charged, grown, ratio)
			}
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestPaddedRequestsStayWithinTheirCharge: a record parsed from a request
// must not keep the request alive. An authorization request padded with
// 16 KiB kept 19 KB per pending page for a charge of 0.6 KB, so the memory
// bound bounded nothing against such a client.
func TestPaddedRequestsStayWithinTheirCharge(t *testing.T) {
	f := newFixture(t, nil)
	pad := strings.Repeat("p", 16<<10)
	authorize := func() {
		q := url.Values{"client_id": {"demo"}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1/callback"},
			"scope": {"openid profile"}, "state": {newID()}, "nonce": {newID()}, "code_challenge": {newSecret()[:43]},
			"code_challenge_method": {"S256"}, "pad": {pad}}
		rec := httptest.NewRecorder()
		f.p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("authorize: %d", rec.Code)
		}
	}
	// The rp observation log keeps the last 64 requests of a client as
	// sent: fill it first, it is bounded.
	for range 2 * rpObservationCap {
		authorize()
	}
	const n = 4000
	charged0 := f.p.Stats()["state_bytes"]["interactions"]
	before := liveHeap()
	for range n {
		authorize()
	}
	grown := liveHeap() - before
	charged := f.p.Stats()["state_bytes"]["interactions"] - charged0
	t.Logf("heap grew %d bytes per pending page, charged %d", grown/n, charged/n)
	if grown > 2*charged {
		t.Errorf("heap grew %d bytes per pending page for a charge of %d", grown/n, charged/n)
	}
}
