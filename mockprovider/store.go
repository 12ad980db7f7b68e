package mockprovider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// secretKey indexes state by the SHA-256 of a bearer value (code, token,
// session cookie), so the maps never hold the raw secret.
type secretKey [sha256.Size]byte

func keyOf(secret string) secretKey { return sha256.Sum256([]byte(secret)) }

// newSecret returns 32 random bytes (256 bits) from crypto/rand, base64url.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// farFuture stands in for "never" in the *_never_expires defects.
const farFuture = 100 * 365 * 24 * time.Hour

// newSecretFor is newSecret, or a 32-bit value under the weak_tokens defect.
func (p *Provider) newSecretFor(c *Client) string {
	if p.defect(c, dWeakTokens) {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return newSecret()
}

// newID returns 16 random bytes (128 bits), base64url: for jti and other
// identifiers that are not bearer secrets.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type expirer interface{ expiry() time.Time }

// queued is pointer-free (a time.Time holds a *Location), like the access
// records, so the garbage collector never scans the big tables.
type queued struct {
	key secretKey
	exp int64 // unix nanoseconds
	// seq orders entries across every table of a store, for the budget's
	// oldest-first eviction.
	seq uint64
}

// slot is a table's value with the bytes it was charged to the budget.
type slot[V any] struct {
	v     V
	bytes int64
}

// table is an expiring map whose entries are charged to the store's memory
// budget. Entries are queued in insertion order; every put evicts the
// expired entries at the front of the queue, then the budget evicts the
// oldest entries of the whole store while it is over its bound, so memory
// stays flat under a sustained load at an amortised O(1) per put. Lookups
// check expiry themselves, so an expired entry still in the map is never
// served.
type table[V expirer] struct {
	kind  string
	items map[secretKey]slot[V]
	queue []queued
	head  int
	// adopt makes a new entry own its strings and returns what it holds
	// beyond its map slot and queue entry (the record and its strings). A
	// value parsed from a request is a substring of the whole request (net/url
	// does not copy what needs no unescaping): kept as is, a 16 KiB padded
	// authorization request kept 19 KB alive per pending page, charged 0.6.
	adopt  func(V) int64
	budget *budget
	// bytes is what the live entries are charged; evicted counts the
	// entries the budget removed before they expired.
	bytes   int64
	evicted int64
}

func newTable[V expirer](b *budget, kind string, adopt func(V) int64) *table[V] {
	t := &table[V]{kind: kind, items: make(map[secretKey]slot[V]), adopt: adopt, budget: b}
	b.tables = append(b.tables, t)
	return t
}

func (t *table[V]) get(k secretKey) (V, bool) {
	s, ok := t.items[k]
	return s.v, ok
}

func (t *table[V]) put(k secretKey, v V, now time.Time) {
	if old, ok := t.items[k]; ok {
		t.charge(-old.bytes)
	}
	n := t.entryBytes(t.adopt(v))
	t.items[k] = slot[V]{v: v, bytes: n}
	t.charge(n)
	t.budget.seq++
	t.queue = append(t.queue, queued{key: k, exp: v.expiry().UnixNano(), seq: t.budget.seq})
	t.evict(now)
	t.budget.enforce()
}

// set replaces an entry that is already queued (for value-typed records,
// whose size does not change).
func (t *table[V]) set(k secretKey, v V) {
	s := t.items[k]
	s.v = v
	t.items[k] = s
}

func (t *table[V]) has(k secretKey) bool {
	_, ok := t.items[k]
	return ok
}

func (t *table[V]) remove(k secretKey) {
	if s, ok := t.items[k]; ok {
		t.charge(-s.bytes)
		delete(t.items, k)
	}
}

func (t *table[V]) len() int { return len(t.items) }

func (t *table[V]) charge(n int64) {
	t.bytes += n
	t.budget.used += n
}

// Per-entry overheads, measured against the heap (TestStateBytesTrackTheHeap):
// a Go map holds between one and about two slots per entry (it doubles as it
// grows), and the queue's backing array is compacted at half empty.
const (
	mapSlotsPerEntry   = 2
	queueSlotsPerEntry = 2
)

// entryBytes is what an entry holding held bytes of its own is charged.
func (t *table[V]) entryBytes(held int64) int64 {
	return mapSlotsPerEntry*int64(unsafe.Sizeof(secretKey{})+unsafe.Sizeof(slot[V]{})) +
		queueSlotsPerEntry*int64(unsafe.Sizeof(queued{})) + held
}

// evict removes the expired entries at the front of the queue.
func (t *table[V]) evict(now time.Time) {
	nowNano := now.UnixNano()
	for t.head < len(t.queue) {
		q := t.queue[t.head]
		if nowNano < q.exp {
			break
		}
		t.pop()
		s, ok := t.items[q.key]
		if !ok {
			continue // removed earlier
		}
		if now.Before(s.v.expiry()) {
			// Its expiry moved later since it was queued: queue it again.
			t.budget.seq++
			t.queue = append(t.queue, queued{key: q.key, exp: s.v.expiry().UnixNano(), seq: t.budget.seq})
			continue
		}
		t.charge(-s.bytes)
		delete(t.items, q.key)
	}
	t.compact()
}

// pop drops the front of the queue.
func (t *table[V]) pop() {
	t.queue[t.head] = queued{}
	t.head++
}

func (t *table[V]) compact() {
	if t.head > 64 && t.head*2 > len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		clear(t.queue[n:])
		t.queue = t.queue[:n]
		t.head = 0
	}
}

// oldest returns the sequence number of the table's oldest live entry,
// dropping queue entries of removed ones on the way.
func (t *table[V]) oldest() (uint64, bool) {
	for t.head < len(t.queue) {
		q := t.queue[t.head]
		if _, ok := t.items[q.key]; ok {
			return q.seq, true
		}
		t.pop()
	}
	t.compact()
	return 0, false
}

// evictOldest removes the table's oldest live entry (oldest has just found it).
func (t *table[V]) evictOldest() {
	q := t.queue[t.head]
	t.pop()
	if s, ok := t.items[q.key]; ok {
		t.charge(-s.bytes)
		delete(t.items, q.key)
		t.evicted++
	}
	t.compact()
}

// evictable is a table as the budget sees it.
type evictable interface {
	oldest() (seq uint64, ok bool)
	evictOldest()
}

// budget bounds the bytes all the tables of one store are charged
// (limits.max_state_bytes): past it, the oldest entries of any kind go first.
type budget struct {
	max, used int64
	seq       uint64
	tables    []evictable
}

func (b *budget) enforce() {
	for b.used > b.max {
		var victim evictable
		var oldest uint64
		for _, t := range b.tables {
			if seq, ok := t.oldest(); ok && (victim == nil || seq < oldest) {
				victim, oldest = t, seq
			}
		}
		if victim == nil {
			return
		}
		victim.evictOldest()
	}
}

// grant is what one user authorization produced: the user, client and
// scopes behind a family of codes and tokens. Revoking it kills every token
// of the family at once (code reuse, refresh-token replay, revocation of a
// refresh token). Codes and refresh tokens point to it; access tokens name
// it by id through the families table, which keeps it until the last token
// issued from it expires. client_credentials tokens have no grant.
type grant struct {
	// id is 0 until the first token is issued, then the families key.
	id       uint64
	exp      time.Time
	clientID string
	// user is nil for client_credentials.
	user     *User
	subject  string
	scopes   []string
	authTime time.Time
	nonce    string
	revoked  bool
	// adopted is set once a table owns the grant's strings and charged its
	// bytes (adoptGrant).
	adopted bool
	// refreshRevoked withdraws the family's refresh tokens only, leaving its
	// access tokens active: what the revoke_keeps_access_tokens and
	// family_access_tokens_survive defects do instead of revoked.
	refreshRevoked bool
}

type codeRecord struct {
	grant       *grant
	redirectURI string
	// challenge is the S256 PKCE code_challenge, "" when none was sent.
	challenge string
	// challengeMethod is "S256", or "plain" under the pkce_plain_allowed defect.
	challengeMethod string
	exp             time.Time
	used            bool
}

func (r *codeRecord) expiry() time.Time { return r.exp }

func (g *grant) expiry() time.Time { return g.exp }

func familyKey(id uint64) secretKey {
	var k secretKey
	binary.BigEndian.PutUint64(k[:8], id)
	return k
}

// accessRecord backs one access token (a self-contained JWT cannot be
// recalled otherwise). It holds no pointers: under a load test the access
// table is by far the largest, and a pointer-free map costs the garbage
// collector nothing to scan.
type accessRecord struct {
	jti [16]byte
	// family is the grant id, 0 for client_credentials.
	family   uint64
	client   uint32 // index into the client registry (clients.go)
	scopes   scopeSet
	issuedAt int64 // unix nanoseconds
	exp      int64
	revoked  bool
}

func (r accessRecord) expiry() time.Time { return time.Unix(0, r.exp) }

type refreshRecord struct {
	grant *grant
	// scope is the scope of the original grant; a refresh may narrow the
	// access token's scope but the next refresh token keeps this one.
	scope    string
	issuedAt time.Time
	exp      time.Time
	// used is set once the token has been rotated; a second use is replay.
	used    bool
	revoked bool
}

func (r *refreshRecord) expiry() time.Time { return r.exp }

func (r *refreshRecord) active(now time.Time) bool {
	return !r.used && !r.revoked && !r.grant.revoked && !r.grant.refreshRevoked && now.Before(r.exp)
}

type sessionRecord struct {
	user     *User
	authTime time.Time
	exp      time.Time
	// consented holds, per client, the scopes the user has approved.
	consented map[string][]string
}

func (r *sessionRecord) expiry() time.Time { return r.exp }

// Device authorization states (RFC 8628).
const (
	devicePending = iota
	deviceApproved
	deviceDenied
	deviceIssued
)

type deviceRecord struct {
	clientID string
	scopes   []string
	userCode string
	exp      time.Time
	interval time.Duration
	lastPoll time.Time
	status   int
	user     *User
	authTime time.Time
}

func (r *deviceRecord) expiry() time.Time { return r.exp }

// store is all the mutable state of one provider. One mutex guards it; it is
// held only for map work, never while signing or writing a response.
type store struct {
	mu           sync.Mutex
	budget       budget
	codes        *table[*codeRecord]
	access       *table[accessRecord]
	families     *table[*grant]
	refresh      *table[*refreshRecord]
	sessions     *table[*sessionRecord]
	devices      *table[*deviceRecord]
	userCodes    *table[*deviceRecord]
	interactions *table[*interaction]
	pushed       *table[*pushedRequest]
	all          []tableStats
}

// tableStats is a table as the metrics see it.
type tableStats interface {
	stats() (kind string, entries, bytes, evicted int64)
}

func (t *table[V]) stats() (string, int64, int64, int64) {
	return t.kind, int64(len(t.items)), t.bytes, t.evicted
}

// newStore makes the tables, charging them all to one budget of maxBytes.
// The kinds are the metrics' labels. Each table's adopt function is called
// with the store locked, when the record is put: before any other request
// can see it, but for a grant, which only its first table adopts.
func newStore(maxBytes int64) *store {
	s := &store{}
	s.budget.max = maxBytes
	b := &s.budget
	s.codes = newTable(b, "authorization_codes", func(r *codeRecord) int64 {
		own(&r.redirectURI, &r.challenge, &r.challengeMethod)
		return sizeOf(*r) + strBytes(r.redirectURI, r.challenge) + adoptGrant(r.grant)
	})
	s.access = newTable(b, "access_tokens", func(accessRecord) int64 { return 0 }) // all in its slot
	s.families = newTable(b, "grants", adoptGrant)
	s.refresh = newTable(b, "refresh_tokens", func(r *refreshRecord) int64 {
		own(&r.scope)
		return sizeOf(*r) + strBytes(r.scope)
	})
	s.sessions = newTable(b, "sessions", func(r *sessionRecord) int64 {
		n := sizeOf(*r) + emptyMapBytes
		for client, scopes := range r.consented {
			n += strBytes(client) + sliceBytes(scopes)
		}
		return n
	})
	s.devices = newTable(b, "device_codes", func(r *deviceRecord) int64 {
		r.scopes = ownSlice(r.scopes)
		own(&r.clientID, &r.userCode)
		return sizeOf(*r) + strBytes(r.userCode) + sliceBytes(r.scopes)
	})
	// A user code indexes a device record the devices table holds.
	s.userCodes = newTable(b, "user_codes", func(*deviceRecord) int64 { return 0 })
	s.interactions = newTable(b, "interactions", func(r *interaction) int64 {
		r.scopes = ownSlice(r.scopes)
		own(&r.redirect.uri, &r.redirect.state, &r.redirectParam, &r.responseType, &r.nonce, &r.challenge, &r.method)
		return sizeOf(*r) + sliceBytes(r.scopes) + strBytes(r.redirect.uri, r.redirect.state, r.redirectParam,
			r.responseType, r.nonce, r.challenge, r.method)
	})
	s.pushed = newTable(b, "pushed_requests", func(r *pushedRequest) int64 {
		own(&r.clientID)
		n := sizeOf(*r) + emptyMapBytes + strBytes(r.clientID)
		for k, v := range r.params {
			r.params[k] = ownSlice(v)
			n += strBytes(k) + sliceBytes(v)
		}
		return n
	})
	s.all = []tableStats{s.codes, s.access, s.families, s.refresh, s.sessions, s.devices, s.userCodes, s.interactions, s.pushed}
	return s
}

// Size estimates for the budget: a heap object is rounded up to its size
// class (about an eighth more on average); strings and slices add their
// bytes and the header of each element.
const emptyMapBytes = 48

func sizeOf[T any](v T) int64 { return int64(unsafe.Sizeof(v)) * 9 / 8 }

func strBytes(ss ...string) int64 {
	var n int64
	for _, s := range ss {
		n += int64(len(s))
	}
	return n
}

func sliceBytes(ss []string) int64 {
	return int64(len(ss))*int64(unsafe.Sizeof("")) + strBytes(ss...)
}

// own replaces each string by a copy of its own, so that a record does not
// keep the request it was parsed from alive.
func own(ss ...*string) {
	for _, s := range ss {
		*s = strings.Clone(*s)
	}
}

// ownSlice is own for a list, copied too: the caller's may be shared.
func ownSlice(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// adoptGrant is the grant's share of the first record that holds it (a code,
// or for the grants without one, its family entry); 0 for the others.
func adoptGrant(g *grant) int64 {
	if g == nil || g.adopted {
		return 0
	}
	g.adopted = true
	g.scopes = ownSlice(g.scopes)
	own(&g.nonce)
	return sizeOf(*g) + sliceBytes(g.scopes) + strBytes(g.nonce)
}

// stateStats is one kind of state as GET /admin/counters and /metrics show it.
type stateStats struct {
	kind                    string
	entries, bytes, evicted int64
}

// stats reports each kind of state: live entries, the bytes they are
// charged, and how many the memory bound evicted before they expired.
func (s *store) stats() []stateStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stateStats, 0, len(s.all))
	for _, t := range s.all {
		kind, entries, bytes, evicted := t.stats()
		out = append(out, stateStats{kind, entries, bytes, evicted})
	}
	return out
}
