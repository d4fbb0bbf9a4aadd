package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/mensatek-go/mensatek"
	"github.com/redis/go-redis/v9"
)

// RateLimiter is a [mensatek.Limiter] shared through Redis by every process that uses the same
// key: replicas that send with the same credentials stay under one limit together, so the
// provider never sees a burst from all of them at once. It is a GCRA limiter
// (github.com/go-redis/redis_rate), one round trip per try, on one key.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	probe   *prober
	key     string
	limit   redis_rate.Limit
	err     error
}

// NewRateLimiter returns a limiter of perSecond calls a second with bursts of burst (at least
// 1), kept in Redis under key (say, "mensatek:" and your API user). Give the client
// [mensatek.WithLimiter]. A perSecond <= 0 makes every Wait fail.
func NewRateLimiter(rdb redis.UniversalClient, key string, perSecond float64, burst int) *RateLimiter {
	l := &RateLimiter{limiter: redis_rate.NewLimiter(rdb), probe: newProber(rdb), key: key}
	if burst < 1 {
		burst = 1
	}
	if !(perSecond > 0) {
		l.err = fmt.Errorf("redisstore: rate limiter: perSecond %v is not positive", perSecond)
		return l
	}
	// One call per emission interval; the interval keeps fractional rates such as 0.5 exact.
	l.limit = redis_rate.Limit{Rate: 1, Period: time.Duration(float64(time.Second) / perSecond), Burst: burst}
	return l
}

// Wait blocks until a call may go, or ctx ends (its error is returned), or Redis fails. When ctx
// has a deadline that comes before the call's turn, it returns at once with an error matching
// context.DeadlineExceeded instead of waiting in vain. It returns when ctx ends even while Redis
// does not answer (a paused or overloaded server), so a client's [mensatek.WithTimeout] holds;
// if Redis cannot be reached, the error also names the failed connection.
func (l *RateLimiter) Wait(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	for {
		res, err := bounded(ctx, l.probe, func(ctx context.Context) (*redis_rate.Result, error) {
			return l.limiter.Allow(ctx, l.key, l.limit)
		})
		if err != nil {
			return fmt.Errorf("redisstore: rate limiter: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		wait := res.RetryAfter
		if wait <= 0 {
			wait = time.Millisecond
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("redisstore: rate limiter: the next turn, in %v, is after the deadline: %w", wait, context.DeadlineExceeded)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

var _ mensatek.Limiter = (*RateLimiter)(nil)
