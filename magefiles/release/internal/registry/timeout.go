package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

const (
	// defaultAnswerTimeout is how long a registry may take to answer a request
	// written whole (a blob commit may make it check the whole blob).
	defaultAnswerTimeout = 30 * time.Second
	// defaultIdleTimeout is how long a request or response body may go without
	// progress.
	defaultIdleTimeout = 30 * time.Second
)

// bounded sends req through next, bounded in time so that a registry that
// accepts a connection and then stops (never answers, takes no more of an
// upload, sends no more of a body) fails the attempt, which retryTransport
// then retries, instead of hanging the run. A watchdog follows the attempt
// through its phases:
//
//   - connecting: no bound of its own; the base transport's dialer (30 s) and
//     TLS handshake (10 s) timeouts bound it;
//   - sending, from the connection to the request written whole: the
//     transport must ask for the next piece of the body within idle of taking
//     the last; the time the body's source takes to produce a piece (a layer
//     compressed on the fly) does not count;
//   - answering, from the request written whole to the response header:
//     answer;
//   - reading the response body: each Read must get a byte within idle; the
//     time the reader spends between Reads does not count.
//
// When a bound runs out, the watchdog cancels the attempt's context with a
// *stallError, which HTTP/1 (the connection is closed) and HTTP/2 (the stream
// is reset) both honour wherever the attempt is blocked, and the attempt
// fails with that error.
//
// Not http.Transport's ResponseHeaderTimeout: it starts only once the request
// is written whole, so an upload the registry stops reading hangs forever on
// either protocol, and its error is a context.DeadlineExceeded, which is not
// retried. Not deadlines on each net.Conn: a read deadline also runs out on a
// connection idle in the pool (its read loop is always reading), and a write
// deadline sees nothing of HTTP/2 flow control. Watching the request's own
// progress bounds both directions on both protocols, and names what stalled.
func bounded(next http.RoundTripper, req *http.Request, answer, idle time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{host: req.URL.Host, answer: answer, idle: idle, cancel: cancel}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { w.enter(phaseSending) },
		WroteRequest: func(httptrace.WroteRequestInfo) { w.enter(phaseAnswering) },
	})
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &sentBody{rc: req.Body, w: w}
		if get := req.GetBody; get != nil {
			// The transport sends the body anew with GetBody when it retries
			// on a connection that turned out dead.
			r.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				if err != nil || b == nil || b == http.NoBody {
					return b, err
				}
				return &sentBody{rc: b, w: w}, nil
			}
		}
	}
	resp, err := next.RoundTrip(r)
	if stall := w.answered(); stall != nil {
		if err == nil {
			resp.Body.Close()
		}
		w.stop()
		return nil, stall
	}
	if err != nil {
		w.stop()
		return nil, err
	}
	resp.Request = req
	if resp.Body == nil || resp.Body == http.NoBody {
		w.stop()
		return resp, nil
	}
	resp.Body = &receivedBody{rc: resp.Body, w: w}
	return resp, nil
}

// phase is where an attempt is; the watchdog bounds each phase its own way.
type phase int

const (
	phaseConnecting phase = iota
	phaseSending
	phaseAnswering
	phaseReading
	phaseDone
)

// stallError is the failure of an attempt that a registry left without
// progress for too long. It is retryable.
type stallError struct {
	Host  string        // the registry, "host[:port]"
	Phase phase         // phaseSending, phaseAnswering or phaseReading
	After time.Duration // the bound that ran out
}

func (e *stallError) Error() string {
	switch e.Phase {
	case phaseSending:
		return fmt.Sprintf("registry %s took no more of the request for %s", e.Host, e.After)
	case phaseAnswering:
		return fmt.Sprintf("no answer from registry %s within %s", e.Host, e.After)
	}
	return fmt.Sprintf("registry %s sent nothing for %s mid-body", e.Host, e.After)
}

// Timeout reports true: a stallError is a timeout, as net.Error has it.
func (e *stallError) Timeout() bool { return true }

// watchdog bounds one attempt: it cancels the attempt's context when the bound
// of the current phase runs out.
type watchdog struct {
	host         string
	answer, idle time.Duration
	cancel       context.CancelCauseFunc

	mu       sync.Mutex
	phase    phase
	timer    *time.Timer
	deadline time.Time     // when the armed bound runs out; zero when none is
	limit    time.Duration // the armed bound
	fired    *stallError
}

// enter moves the attempt to p (sending or answering), unless it was answered:
// the transport may connect, and send, again when a pooled connection was dead.
func (w *watchdog) enter(p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase >= phaseReading {
		return
	}
	w.phase = p
	if p == phaseAnswering {
		w.arm(w.answer)
	} else {
		w.arm(w.idle)
	}
}

// taking notes that the transport asks the request body for more: it has
// passed on what it had, so the registry took it.
func (w *watchdog) taking() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == phaseSending {
		w.disarm()
	}
}

// took notes that the transport has a piece of the request body to send.
func (w *watchdog) took() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == phaseSending {
		w.arm(w.idle)
	}
}

// answered ends the request's phases, and returns the stall that ended the
// attempt, if one did.
func (w *watchdog) answered() *stallError {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = phaseReading
	w.disarm()
	return w.fired
}

// reading bounds a Read of the response body.
func (w *watchdog) reading() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == phaseReading && w.fired == nil {
		w.arm(w.idle)
	}
}

// read ends a Read of the response body, and returns the stall that ended it,
// if one did.
func (w *watchdog) read() *stallError {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.disarm()
	return w.fired
}

// stop ends the attempt: no bound any more, and its context is released.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.phase = phaseDone
	w.disarm()
	w.mu.Unlock()
	w.cancel(nil)
}

// arm starts the bound d (none when d is not positive); w.mu is held.
func (w *watchdog) arm(d time.Duration) {
	if d <= 0 || w.fired != nil {
		w.disarm()
		return
	}
	w.deadline, w.limit = time.Now().Add(d), d
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.expire)
		return
	}
	w.timer.Reset(d)
}

// disarm stops the armed bound, if any; w.mu is held.
func (w *watchdog) disarm() {
	w.deadline = time.Time{}
	if w.timer != nil {
		w.timer.Stop()
	}
}

// expire runs when the timer fires: if the armed bound has run out (not one
// since disarmed or pushed back), the attempt fails.
func (w *watchdog) expire() {
	w.mu.Lock()
	if w.fired != nil || w.deadline.IsZero() || time.Now().Before(w.deadline) {
		w.mu.Unlock()
		return
	}
	w.fired = &stallError{Host: w.host, Phase: w.phase, After: w.limit}
	w.deadline = time.Time{}
	err := w.fired
	w.mu.Unlock()
	w.cancel(err)
}

// sentBody is a request body that tells the watchdog when the transport takes
// a piece of it and when it asks for the next.
type sentBody struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *sentBody) Read(p []byte) (int, error) {
	b.w.taking()
	n, err := b.rc.Read(p)
	b.w.took()
	return n, err
}

func (b *sentBody) Close() error { return b.rc.Close() }

// receivedBody is a response body whose every Read is bounded by the watchdog.
type receivedBody struct {
	rc    io.ReadCloser
	w     *watchdog
	stall error
}

func (b *receivedBody) Read(p []byte) (int, error) {
	if b.stall != nil {
		return 0, b.stall
	}
	b.w.reading()
	n, err := b.rc.Read(p)
	if stall := b.w.read(); stall != nil {
		b.stall = stall
		b.rc.Close()
		b.w.stop()
		return n, stall
	}
	return n, err
}

func (b *receivedBody) Close() error {
	err := b.rc.Close()
	b.w.stop()
	return err
}
