package mensatek

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// templateCache keeps the template list and details for a while, for checked sends. Concurrent
// fetches of the same thing are merged: however many goroutines find the cache cold, one request
// goes out and all of them share its answer.
type templateCache struct {
	ttl    time.Duration
	flight singleflight.Group

	mu      sync.Mutex
	gen     uint64 // bumped by ForgetTemplates: a fetch begun before it is not kept
	list    []TemplateInfo
	listAt  time.Time
	details map[string]cachedDetails
}

type cachedDetails struct {
	d  *TemplateDetails
	at time.Time
}

func newTemplateCache(ttl time.Duration) *templateCache {
	return &templateCache{ttl: ttl, details: make(map[string]cachedDetails)}
}

func (tc *templateCache) fresh(at time.Time) bool {
	return tc.ttl > 0 && !at.IsZero() && time.Since(at) < tc.ttl
}

func copyDetails(d *TemplateDetails) *TemplateDetails {
	cp := *d
	cp.Variables = append([]TemplateVariable(nil), d.Variables...)
	return &cp
}

// ForgetTemplates empties the template cache that checked sends use, for example after a
// template was approved in the panel. A fetch already under way is not kept.
func (c *Client) ForgetTemplates() {
	tc := c.templates
	tc.mu.Lock()
	tc.gen++
	tc.list, tc.listAt = nil, time.Time{}
	clear(tc.details)
	tc.mu.Unlock()
}

// share runs fetch once for every caller that asks for key at the same time, and waits for it
// within ctx. The fetch runs on a context that keeps ctx's values but not its end, so a caller
// that gives up does not fail the others (WithTimeout still bounds it); a failed fetch is
// returned to every waiting caller and never kept.
func (tc *templateCache) share(ctx context.Context, key string, fetch func(ctx context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, markNotSent(fmt.Errorf("mensatek: template cache: not sent: %w", ctxError(ctx, err)))
	}
	shared := context.WithoutCancel(ctx)
	ch := tc.flight.DoChan(key, func() (any, error) { return fetch(shared) })
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("mensatek: waiting for the template cache: %w", ctxError(ctx, ctx.Err()))
	}
}

func (c *Client) cachedTemplates(ctx context.Context) ([]TemplateInfo, error) {
	tc := c.templates
	tc.mu.Lock()
	if tc.fresh(tc.listAt) {
		list := tc.list
		tc.mu.Unlock()
		return list, nil
	}
	gen := tc.gen
	tc.mu.Unlock()
	v, err := tc.share(ctx, "list@"+strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		// A fetch that ended between our look at the cache and this one filled it.
		tc.mu.Lock()
		if tc.fresh(tc.listAt) && tc.gen == gen {
			list := tc.list
			tc.mu.Unlock()
			return list, nil
		}
		tc.mu.Unlock()
		list, err := c.Templates(ctx)
		if err != nil {
			return nil, err
		}
		tc.mu.Lock()
		if tc.gen == gen {
			tc.list, tc.listAt = list, time.Now()
		}
		tc.mu.Unlock()
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]TemplateInfo), nil
}

func (c *Client) cachedDetails(ctx context.Context, id string) (*TemplateDetails, error) {
	tc := c.templates
	tc.mu.Lock()
	if e, ok := tc.details[id]; ok && tc.fresh(e.at) {
		tc.mu.Unlock()
		return copyDetails(e.d), nil
	}
	gen := tc.gen
	tc.mu.Unlock()
	v, err := tc.share(ctx, "vars@"+strconv.FormatUint(gen, 10)+":"+id, func(ctx context.Context) (any, error) {
		tc.mu.Lock()
		if e, ok := tc.details[id]; ok && tc.fresh(e.at) && tc.gen == gen {
			tc.mu.Unlock()
			return e.d, nil
		}
		tc.mu.Unlock()
		d, err := c.TemplateVariables(ctx, id)
		if err != nil {
			return nil, err
		}
		if tc.ttl > 0 {
			tc.mu.Lock()
			if tc.gen == gen {
				tc.details[id] = cachedDetails{d: copyDetails(d), at: time.Now()}
			}
			tc.mu.Unlock()
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return copyDetails(v.(*TemplateDetails)), nil // each caller may change its own
}

// TemplateByName finds the template called name and returns it with its variables (API
// functions GetPlantillasWhatsapp and GetVariablesPlantillaWhatsapp), through a cache kept for
// WithTemplateCacheTTL. When several templates share the name (one per language), an approved
// one is preferred. An unknown name is a [*TemplateError] matching [ErrTemplateNotFound] and
// listing the names there are.
func (c *Client) TemplateByName(ctx context.Context, name string) (*TemplateDetails, error) {
	if err := checkRequired("Message.Name", name, MaxTemplateNameLength); err != nil {
		return nil, err
	}
	list, err := c.cachedTemplates(ctx)
	if err != nil {
		return nil, err
	}
	var best *TemplateInfo
	for i := range list {
		t := &list[i]
		if t.Name != name {
			continue
		}
		if best == nil || (t.Verified && !best.Verified) {
			best = t
		}
	}
	if best == nil {
		names := make([]string, 0, len(list))
		for _, t := range list {
			names = append(names, t.Name)
		}
		sort.Strings(names)
		return nil, &TemplateError{Name: name, Available: names, err: ErrTemplateNotFound}
	}
	return c.cachedDetails(ctx, best.ID)
}
