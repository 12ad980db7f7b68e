package mockprovider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
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
}

// table is an expiring map bounded in size. Entries are queued in insertion
// order; every put evicts the expired entries at the front of the queue, and
// the oldest ones when the queue passes max, so memory stays flat under a
// sustained load at an amortised O(1) per put. Lookups check expiry
// themselves, so an expired entry still in the map is never served.
type table[V expirer] struct {
	items map[secretKey]V
	queue []queued
	head  int
	max   int
}

func newTable[V expirer](max int) table[V] {
	return table[V]{items: make(map[secretKey]V), max: max}
}

func (t *table[V]) get(k secretKey) (V, bool) {
	v, ok := t.items[k]
	return v, ok
}

func (t *table[V]) put(k secretKey, v V, now time.Time) {
	t.items[k] = v
	t.queue = append(t.queue, queued{key: k, exp: v.expiry().UnixNano()})
	t.evict(now)
}

// set replaces an entry that is already queued (for value-typed records).
func (t *table[V]) set(k secretKey, v V) { t.items[k] = v }

func (t *table[V]) has(k secretKey) bool {
	_, ok := t.items[k]
	return ok
}

func (t *table[V]) remove(k secretKey) { delete(t.items, k) }

func (t *table[V]) len() int { return len(t.items) }

func (t *table[V]) evict(now time.Time) {
	nowNano := now.UnixNano()
	for t.head < len(t.queue) {
		q := t.queue[t.head]
		full := len(t.queue)-t.head > t.max
		if !full && nowNano < q.exp {
			break
		}
		t.queue[t.head] = queued{}
		t.head++
		v, ok := t.items[q.key]
		if !ok {
			continue // removed earlier
		}
		if !full && now.Before(v.expiry()) {
			// Its expiry moved later since it was queued: queue it again.
			t.queue = append(t.queue, queued{key: q.key, exp: v.expiry().UnixNano()})
			continue
		}
		delete(t.items, q.key)
	}
	if t.head > 64 && t.head*2 > len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		clear(t.queue[n:])
		t.queue = t.queue[:n]
		t.head = 0
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
	client   uint32 // index into Provider.clientList
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
	return !r.used && !r.revoked && !r.grant.revoked && now.Before(r.exp)
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
	codes        table[*codeRecord]
	access       table[accessRecord]
	families     table[*grant]
	refresh      table[*refreshRecord]
	sessions     table[*sessionRecord]
	devices      table[*deviceRecord]
	userCodes    table[*deviceRecord]
	interactions table[*interaction]
}

func newStore(max int) *store {
	return &store{
		codes:        newTable[*codeRecord](max),
		access:       newTable[accessRecord](max),
		families:     newTable[*grant](max),
		refresh:      newTable[*refreshRecord](max),
		sessions:     newTable[*sessionRecord](max),
		devices:      newTable[*deviceRecord](max),
		userCodes:    newTable[*deviceRecord](max),
		interactions: newTable[*interaction](max),
	}
}

// sizes reports how many entries each kind of state holds.
func (s *store) sizes() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]int64{
		"authorization_codes": int64(s.codes.len()),
		"access_tokens":       int64(s.access.len()),
		"grants":              int64(s.families.len()),
		"refresh_tokens":      int64(s.refresh.len()),
		"sessions":            int64(s.sessions.len()),
		"device_codes":        int64(s.devices.len()),
		"interactions":        int64(s.interactions.len()),
	}
}
