package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// bounded runs f, one operation of a store or the rate limiter, and returns its result, or as
// soon as ctx ends, ctx's error, whichever comes first. go-redis applies a context's deadline
// to its socket reads and writes only with ContextTimeoutEnabled, and nothing makes it notice a
// cancellation while it waits for a reply: left to it, a paused Redis holds a call for
// ReadTimeout (3 s by default, and again for each retry), or forever with timeouts off, whatever
// the caller's deadline.
//
// A call abandoned this way goes on in the background until go-redis itself gives up, and its
// result is dropped: a command already sent may still run when Redis answers again. Every
// operation here tolerates that, as it tolerates any timeout: changes apply by their time, a
// claim expires with its lease, a limiter's turn is only spent.
func bounded[T any](ctx context.Context, p *prober, f func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, ctxError(ctx)
	}
	if ctx.Done() == nil { // never ends: nothing to watch
		v, err := f(ctx)
		p.note(err)
		return v, err
	}
	start := time.Now()
	p.maybeProbe(ctx)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done: // it ended too: its result, not a guess
		default:
			r.err = ctx.Err()
		}
	}
	p.note(r.err)
	if r.err != nil && ctx.Err() != nil && errors.Is(r.err, ctx.Err()) {
		r.err = ctxError(ctx)
		if perr := p.failure(start); perr != nil {
			r.err = fmt.Errorf("no connection to Redis (%w): %w", perr, r.err)
		}
	}
	return r.v, r.err
}

// run is bounded for an operation that returns only an error.
func run(ctx context.Context, p *prober, f func(ctx context.Context) error) error {
	_, err := bounded(ctx, p, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// ctxError is ctx's error with its cause, when the cause says more (a deadline set by
// mensatek.WithTimeout names the option).
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	cause := context.Cause(ctx)
	switch {
	case cause == nil || cause == err:
		return err
	case errors.Is(cause, err):
		return cause
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// prober finds out why Redis cannot be reached, for the error of a call whose context ended
// while go-redis was still trying to connect: go-redis dials in the background and retries a
// refused connection until the caller's context ends, and then says only that the context
// ended. When a call starts while the client may have no connection to Redis (its pool is
// empty; for a Cluster client, whose pool statistics load the cluster's state, while no call
// has had an answer since the last that had none), a probe connects to Redis as the client does
// (its Dialer, network and addresses), within the call's context, and closes the connection at
// once. One probe runs at a time; calls that end meanwhile use its result. It never changes the
// client.
type prober struct {
	pooled  func() bool // whether the client's pool holds a connection; nil: unknown
	network string
	addrs   []string
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)

	answered atomic.Bool // the latest call had an answer from Redis
	busy     atomic.Bool // a probe is connecting

	mu  sync.Mutex
	err error     // the latest probe's failure; nil if it connected
	at  time.Time // when the latest probe ended
}

// newProber returns the prober of rdb: a *redis.Client (Sentinel's failover client too: its
// Dialer finds the master), a *redis.ClusterClient (its seed addresses) or a *redis.Ring (its
// shards). For another client it probes nothing.
func newProber(rdb redis.UniversalClient) *prober {
	p := &prober{network: "tcp"}
	var timeout time.Duration
	pooled := func() bool { return rdb.PoolStats().TotalConns > 0 }
	switch c := rdb.(type) {
	case *redis.Client:
		o := c.Options()
		p.network, p.addrs, p.dial, timeout, p.pooled = o.Network, []string{o.Addr}, o.Dialer, o.DialTimeout, pooled
	case *redis.ClusterClient:
		o := c.Options()
		p.addrs, p.dial, timeout = o.Addrs, o.Dialer, o.DialTimeout
	case *redis.Ring:
		o := c.Options()
		for _, a := range o.Addrs {
			p.addrs = append(p.addrs, a)
		}
		sort.Strings(p.addrs)
		p.dial, timeout, p.pooled = o.Dialer, o.DialTimeout, pooled
	}
	if p.dial == nil {
		d := &net.Dialer{Timeout: timeout}
		p.dial = d.DialContext
	}
	return p
}

// maybeProbe starts a probe within ctx if the client may have no connection and no probe runs.
func (p *prober) maybeProbe(ctx context.Context) {
	if len(p.addrs) == 0 {
		return
	}
	if p.pooled != nil && p.pooled() || p.pooled == nil && p.answered.Load() {
		return // go-redis has a connection: this call does not wait for a new one
	}
	if !p.busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		var first error
		for _, addr := range p.addrs {
			conn, err := p.dial(ctx, p.network, addr)
			if err == nil {
				conn.Close()
				continue
			}
			if first == nil && ctx.Err() == nil { // a dial the context ended says nothing of Redis
				first = err
			}
		}
		p.mu.Lock()
		p.err, p.at = first, time.Now()
		p.mu.Unlock()
		p.busy.Store(false)
	}()
}

// note records whether a call that ended with err had an answer from Redis.
func (p *prober) note(err error) {
	var replied redis.Error // a reply of Redis's, such as NOSCRIPT, or redis.Nil
	p.answered.Store(err == nil || errors.As(err, &replied))
}

// failure returns the failure of a probe that ended after since, if any.
func (p *prober) failure(since time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at.Before(since) {
		return nil
	}
	return p.err
}
