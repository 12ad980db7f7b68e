package mockprovider

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/grantbench/grantbench/oauth"
	"go.yaml.in/yaml/v3"
)

// Fault makes one endpoint (or every endpoint, "*") misbehave at the
// transport level, for users testing how their application copes: latency,
// errors at a rate, dropped connections, slow bodies. Unlike defects,
// faults break no protocol rule.
type Fault struct {
	// Endpoint is a name from the admin counters ("token", "authorize",
	// "jwks", "userinfo", ...) or "*" for all.
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// Latency delays every response; Jitter adds up to that much more, at random.
	Latency Duration `yaml:"latency" json:"latency"`
	Jitter  Duration `yaml:"jitter" json:"jitter"`
	// ErrorRate (0 to 1) of requests get ErrorStatus (default 503) with a
	// JSON body {"error": ErrorCode} (default temporarily_unavailable).
	ErrorRate   float64 `yaml:"error_rate" json:"error_rate"`
	ErrorStatus int     `yaml:"error_status" json:"error_status"`
	ErrorCode   string  `yaml:"error_code" json:"error_code"`
	// DropRate (0 to 1) of requests get their connection closed with no answer.
	DropRate float64 `yaml:"drop_rate" json:"drop_rate"`
	// SlowBody spreads writing the response body over this long.
	SlowBody Duration `yaml:"slow_body" json:"slow_body"`
}

// Duration is a time.Duration written as "150ms" in YAML and JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "150ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "150ms" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string such as \"150ms\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// UnmarshalYAML reads "150ms".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

const maxFaultDelay = time.Minute

func (f Fault) validate(field string) error {
	if f.Endpoint != "*" && !slices.Contains(endpointNames[:], f.Endpoint) {
		return fieldErr(field+".endpoint", "%q is not * or one of %v", f.Endpoint, endpointNames)
	}
	for name, d := range map[string]Duration{"latency": f.Latency, "jitter": f.Jitter, "slow_body": f.SlowBody} {
		if d < 0 || time.Duration(d) > maxFaultDelay {
			return fieldErr(field+"."+name, "must be between 0 and %v", maxFaultDelay)
		}
	}
	for name, r := range map[string]float64{"error_rate": f.ErrorRate, "drop_rate": f.DropRate} {
		if r < 0 || r > 1 {
			return fieldErr(field+"."+name, "must be between 0 and 1, got %v", r)
		}
	}
	if f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599) {
		return fieldErr(field+".error_status", "must be a 4xx or 5xx status, got %d", f.ErrorStatus)
	}
	if f.ErrorCode != "" && !validScopeToken(f.ErrorCode) {
		return fieldErr(field+".error_code", "%q is not a valid error code", f.ErrorCode)
	}
	return nil
}

// activeFaults holds the faults in force by endpoint index.
type activeFaults struct {
	list       []Fault
	byEndpoint [len(endpointNames)]*Fault
}

func compileFaults(list []Fault) (*activeFaults, error) {
	a := &activeFaults{list: slices.Clone(list)}
	for i := range a.list {
		f := &a.list[i]
		if err := f.validate(fmt.Sprintf("faults[%d]", i)); err != nil {
			return nil, err
		}
		if f.ErrorStatus == 0 {
			f.ErrorStatus = http.StatusServiceUnavailable
		}
		if f.ErrorCode == "" {
			f.ErrorCode = oauth.TemporarilyUnavailable.String()
		}
		for e, name := range endpointNames {
			// A fault for one endpoint wins over a "*" one, whatever the order.
			if name == f.Endpoint || f.Endpoint == "*" && (a.byEndpoint[e] == nil || a.byEndpoint[e].Endpoint == "*") {
				a.byEndpoint[e] = f
			}
		}
	}
	return a, nil
}

// SetFaults replaces the faults in force (as PUT /admin/faults does).
func (p *Provider) SetFaults(list []Fault) error {
	a, err := compileFaults(list)
	if err != nil {
		return err
	}
	p.faults.Store(a)
	return nil
}

// FaultsInForce returns the faults in force.
func (p *Provider) FaultsInForce() []Fault { return slices.Clone(p.faults.Load().list) }

// WithFaults switches faults on (on top of the config's).
func WithFaults(list ...Fault) Option {
	return func(p *Provider) error {
		p.extraFaults = append(p.extraFaults, list...)
		return nil
	}
}

// serveFaulty runs handler under fault f: delayed, answered with an error
// or dropped instead, or with its body sent slowly.
func (p *Provider) serveFaulty(f *Fault, handler http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	if delay := time.Duration(f.Latency) + jitter(time.Duration(f.Jitter)); delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f.DropRate > 0 && rand.Float64() < f.DropRate {
		// net/http closes the connection without a response, quietly.
		panic(http.ErrAbortHandler)
	}
	if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
		p.counters.countError(oauth.ErrorCode(f.ErrorCode))
		o := newJSONObject(64)
		o.str("error", f.ErrorCode)
		o.str("error_description", "fault injected by the mock provider")
		w.Header().Set("Retry-After", "1")
		writeJSONBytes(w, f.ErrorStatus, o.bytes())
		return
	}
	if f.SlowBody <= 0 {
		handler(w, r)
		return
	}
	sw := &slowWriter{ResponseWriter: w, status: http.StatusOK}
	handler(sw, r)
	sw.flushSlowly(r, time.Duration(f.SlowBody))
}

func jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// slowWriter holds the response back, then sends the body in pieces.
type slowWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (s *slowWriter) WriteHeader(status int) { s.status = status }

func (s *slowWriter) Write(b []byte) (int, error) {
	s.body = append(s.body, b...)
	return len(b), nil
}

func (s *slowWriter) flushSlowly(r *http.Request, over time.Duration) {
	const pieces = 10
	s.ResponseWriter.WriteHeader(s.status)
	flusher, _ := s.ResponseWriter.(http.Flusher)
	step := (len(s.body) + pieces - 1) / pieces
	for i := 0; i < len(s.body); i += max(step, 1) {
		end := min(i+max(step, 1), len(s.body))
		if _, err := s.ResponseWriter.Write(s.body[i:end]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-time.After(over / pieces):
		case <-r.Context().Done():
			return
		}
	}
}
