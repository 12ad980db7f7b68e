package mockprovider

import (
	"net/http"
	"time"
)

// Interaction kinds: a pending login/consent for /authorize or for the
// device verification page.
const (
	interactionAuthorize = iota
	interactionDevice
)

// interaction is a login/consent in progress, keyed by a random id carried
// in the pages' hidden "interaction" field. It holds no user: the consent
// step reads the user from the session cookie.
type interaction struct {
	kind   int
	exp    time.Time
	client *Client
	scopes []string

	// authorize
	redirect redirectTarget
	// redirectParam is redirect_uri as sent ("" when defaulted), which the
	// token request must repeat (RFC 6749 4.1.3).
	redirectParam string
	responseType  string
	nonce         string
	challenge     string
	method        string
	// deferredError is the refusal the defer_authorization_errors behaviour
	// keeps until the user has logged in and consented.
	deferredError *oauthError

	// device
	device *deviceRecord
}

func (i *interaction) expiry() time.Time { return i.exp }

func (p *Provider) saveInteraction(in *interaction, now time.Time) string {
	id := newSecret()
	p.store.mu.Lock()
	p.store.interactions.put(keyOf(id), in, now)
	p.store.mu.Unlock()
	return id
}

func (p *Provider) loadInteraction(id string, now time.Time) *interaction {
	if id == "" {
		return nil
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	in, ok := p.store.interactions.get(keyOf(id))
	if !ok || !now.Before(in.exp) {
		return nil
	}
	return in
}

// takeInteraction removes the interaction so that one consent decision is
// acted on once.
func (p *Provider) takeInteraction(id string, now time.Time) *interaction {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	k := keyOf(id)
	in, ok := p.store.interactions.get(k)
	if !ok || !now.Before(in.exp) {
		return nil
	}
	p.store.interactions.remove(k)
	return in
}

// session returns the login session of the request's cookie, if alive.
func (p *Provider) session(r *http.Request, now time.Time) *sessionRecord {
	c, err := r.Cookie(p.cookieName(sessionCookie))
	if err != nil || c.Value == "" {
		return nil
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	s, ok := p.store.sessions.get(keyOf(c.Value))
	if !ok || !now.Before(s.exp) {
		return nil
	}
	return s
}

func (p *Provider) startSession(w http.ResponseWriter, u *User, now time.Time) {
	id := newSecret()
	s := &sessionRecord{user: u, authTime: now, exp: now.Add(p.cfg.Lifetimes.Session), consented: map[string][]string{}}
	p.store.mu.Lock()
	p.store.sessions.put(keyOf(id), s, now)
	p.store.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(sessionCookie), Value: id, Path: p.cookiePath("/"), HttpOnly: true,
		Secure: p.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(p.cfg.Lifetimes.Session / time.Second)})
}
