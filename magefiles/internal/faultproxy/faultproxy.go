// Package faultproxy puts a misbehaving network in front of a real registry for tests: an HTTP
// reverse proxy on 127.0.0.1 that answers a share of requests with 503 or 429 (with
// Retry-After), cuts uploads in the middle of their body, delays responses, and can go down
// entirely after a number of requests. Its choices come from a seeded random source, so a
// failing run can be repeated.
package faultproxy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Faults says how the proxy misbehaves. The zero value forwards everything untouched.
type Faults struct {
	// FailRate is the share of requests answered 503 or 429 (half each) without reaching the
	// registry. 429 answers carry Retry-After.
	FailRate float64
	// CutRate is the share of uploads (requests with a body) whose connection is closed after
	// half the body was read, without an answer.
	CutRate float64
	// Delay is added before every answer.
	Delay time.Duration
	// OutageAfter, when positive, makes every request after that many fail by closing the
	// connection, until Heal is called.
	OutageAfter int
	// RetryAfter is the Retry-After value, in seconds, of 429 answers (default 1).
	RetryAfter int
	// Seed seeds the random choices.
	Seed uint64
}

// Stats counts what the proxy did.
type Stats struct {
	Requests  int // requests received
	Forwarded int // requests passed to the registry
	Failed    int // answered 503 or 429
	Cut       int // uploads cut mid-body
	Refused   int // closed during an outage
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	rp     *httputil.ReverseProxy

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	stats  Stats
	healed bool
}

// Start serves a proxy to target (a URL such as http://127.0.0.1:5000) on a free loopback port.
// Close stops it.
func Start(target string, faults Faults) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parsing target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	p := &Proxy{target: u, ln: ln}
	p.Set(faults)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Keep the client's Host so that the registry's absolute upload locations
			// point back at the proxy.
			r.Out.Host = r.In.Host
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Host returns the proxy's "127.0.0.1:port".
func (p *Proxy) Host() string { return p.ln.Addr().String() }

// Set replaces the faults; the random source is reseeded and an outage is no longer healed.
func (p *Proxy) Set(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.RetryAfter == 0 {
		f.RetryAfter = 1
	}
	p.faults = f
	p.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	p.healed = false
}

// Heal ends an outage: from now on requests are forwarded (other faults still apply).
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.healed = true
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error { return p.srv.Close() }

type action int

const (
	forward action = iota
	fail503
	fail429
	cut
	refuse
)

// decide picks what happens to one request.
func (p *Proxy) decide(hasBody bool) (action, Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	f := p.faults
	switch {
	case f.OutageAfter > 0 && p.stats.Requests > f.OutageAfter && !p.healed:
		p.stats.Refused++
		return refuse, f
	case f.FailRate > 0 && p.rng.Float64() < f.FailRate:
		p.stats.Failed++
		if p.rng.IntN(2) == 0 {
			return fail503, f
		}
		return fail429, f
	case hasBody && f.CutRate > 0 && p.rng.Float64() < f.CutRate:
		p.stats.Cut++
		return cut, f
	}
	p.stats.Forwarded++
	return forward, f
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hasBody := r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
	act, f := p.decide(hasBody)
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch act {
	case fail503:
		http.Error(w, "injected fault: service unavailable", http.StatusServiceUnavailable)
	case fail429:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		http.Error(w, "injected fault: too many requests", http.StatusTooManyRequests)
	case cut:
		n := r.ContentLength / 2
		if n <= 0 {
			n = 1
		}
		io.CopyN(io.Discard, r.Body, n)
		hangUp(w)
	case refuse:
		hangUp(w)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
