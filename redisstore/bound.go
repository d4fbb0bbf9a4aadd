package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

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
func bounded[T any](ctx context.Context, dials *dialWatch, f func(ctx context.Context) (T, error)) (T, error) {
	if ctx.Done() == nil { // never ends: nothing to watch
		return f(ctx)
	}
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
	if r.err != nil && ctx.Err() != nil && errors.Is(r.err, ctx.Err()) {
		r.err = dials.explain(ctxError(ctx))
	}
	return r.v, r.err
}

// run is bounded for an operation that returns only an error.
func run(ctx context.Context, dials *dialWatch, f func(ctx context.Context) error) error {
	_, err := bounded(ctx, dials, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
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

// dialWatch is a go-redis hook that remembers how the latest attempt to connect to Redis ended.
// go-redis dials in the background and retries a refused connection until the caller's context
// ends, and then its error says only that the context ended; with the watch, a store's error
// names the refused connection. It watches nothing but dials.
type dialWatch struct {
	mu  sync.Mutex
	err error // the latest dial's error; nil once a dial succeeded
}

// watchDials adds a dialWatch to rdb: to a Cluster or Ring client's node clients (its own hooks
// do not see their dials), those of a Ring now, and those either makes from now on. A Cluster
// client makes its nodes when it first loads the cluster's state, usually after the stores are
// made.
func watchDials(rdb redis.UniversalClient) *dialWatch {
	w := &dialWatch{}
	rdb.AddHook(w)
	if nodes, ok := rdb.(interface{ OnNewNode(func(*redis.Client)) }); ok {
		nodes.OnNewNode(func(node *redis.Client) { node.AddHook(w) })
	}
	if ring, ok := rdb.(*redis.Ring); ok {
		_ = ring.ForEachShard(context.Background(), func(_ context.Context, shard *redis.Client) error {
			shard.AddHook(w)
			return nil
		})
	}
	return w
}

// DialHook implements redis.Hook.
func (w *dialWatch) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if errors.Is(err, context.Canceled) {
			return conn, err // go-redis stopped the dial: it says nothing about Redis
		}
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		return conn, err
	}
}

// ProcessHook implements redis.Hook; it adds nothing to commands.
func (w *dialWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

// ProcessPipelineHook implements redis.Hook; it adds nothing to pipelines.
func (w *dialWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// explain adds to err, the error of a call its context ended, why Redis could not be reached,
// if the latest attempt to connect failed.
func (w *dialWatch) explain(err error) error {
	w.mu.Lock()
	dialErr := w.err
	w.mu.Unlock()
	if dialErr == nil {
		return err
	}
	return fmt.Errorf("no connection to Redis, the latest attempt failed (%w): %w", dialErr, err)
}
