package mockprovider

import (
	"net/http"
	"time"
)

// Endpoints still being written; they answer 404 until their files land.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (p *Provider) handleLogin(w http.ResponseWriter, r *http.Request)     { http.NotFound(w, r) }
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
func (p *Provider) handleDevicePage(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request)     { http.NotFound(w, r) }
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
func (p *Provider) handleAdmin(w http.ResponseWriter, r *http.Request)      { http.NotFound(w, r) }

type interaction struct{ exp time.Time }

func (i *interaction) expiry() time.Time { return i.exp }
