package mockprovider

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// clientRegistry holds the provider's clients: the configured ones, fixed
// by New, and those registered at run time (RFC 7591, register.go). Lookups
// read an immutable snapshot with one atomic load, so the token endpoint
// takes no lock; a registration copies the snapshot (the count is bounded by
// registration.max_clients) and swaps it.
type clientRegistry struct {
	snap atomic.Pointer[clientSnapshot]
	// mu serialises registrations.
	mu sync.Mutex
}

// clientSnapshot is one generation of the registry. Access records name
// their client by index into list, so a client keeps its index forever.
type clientSnapshot struct {
	byID map[string]*Client
	list []*Client
	idx  map[string]uint32
	// registered counts the clients added at run time.
	registered int
}

func (cr *clientRegistry) init(clients []*Client) {
	s := &clientSnapshot{byID: make(map[string]*Client, len(clients)), idx: make(map[string]uint32, len(clients))}
	for _, c := range clients {
		s.byID[c.ID] = c
		s.idx[c.ID] = uint32(len(s.list))
		s.list = append(s.list, c)
	}
	cr.snap.Store(s)
}

// add appends a client registered at run time, unless the id is taken or
// limit run-time clients exist already. It reports whether it was added.
func (cr *clientRegistry) add(c *Client, limit int) (added, full bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	old := cr.snap.Load()
	if old.registered >= limit {
		return false, true
	}
	if old.byID[c.ID] != nil {
		return false, false
	}
	s := &clientSnapshot{byID: maps.Clone(old.byID), idx: maps.Clone(old.idx),
		list: append(slices.Clip(old.list), c), registered: old.registered + 1}
	s.byID[c.ID] = c
	s.idx[c.ID] = uint32(len(s.list) - 1)
	cr.snap.Store(s)
	return true, false
}

// client returns the client registered as id, nil when there is none.
func (p *Provider) client(id string) *Client { return p.clientReg.snap.Load().byID[id] }

// clientAt returns the client of an access record's index.
func (p *Provider) clientAt(i uint32) *Client { return p.clientReg.snap.Load().list[i] }

// clientIndex is the index access records name client id by.
func (p *Provider) clientIndex(id string) uint32 { return p.clientReg.snap.Load().idx[id] }

// firstClient is the first configured client.
func (p *Provider) firstClient() *Client { return p.clientReg.snap.Load().list[0] }
