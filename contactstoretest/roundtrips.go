package contactstoretest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek"
)

// RunRoundTrips checks what a store on a network server costs, with trips counting the round
// trips (or queries) it has made so far: one per write, and one per batch of at most batchSize
// distinct phones for a lookup, whatever the duplicates; optedOutTrips is what listing the 51
// opted-out phones it writes must cost. Warm the store up first (a first use may load scripts).
func RunRoundTrips(t *testing.T, store mensatek.ContactStore, trips func() int64, batchSize int, optedOutTrips int64) {
	t.Helper()
	ctx := context.Background()
	count := func(what string, want int64, f func() error) {
		t.Helper()
		before := trips()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := trips() - before; n != want {
			t.Fatalf("%s took %d round trips, want %d", what, n, want)
		}
	}
	phones := func(n int) []string {
		p := make([]string, n)
		for i := range p {
			p[i] = fmt.Sprintf("3460%07d", i)
		}
		return p
	}
	for i, p := range phones(2500) {
		if i%5 == 0 {
			count("record", 1, func() error { return store.RecordInbound(ctx, p, time.Now()) })
		}
		if i%50 == 0 {
			count("set opt-out", 1, func() error { return store.SetOptOut(ctx, p, true, time.Now(), "test") })
		}
	}
	for _, tc := range []struct {
		phones []string
		want   int64
	}{
		{nil, 0},
		{phones(1), 1},
		{phones(batchSize), 1},
		{phones(batchSize + 1), 2},
		{append(phones(batchSize), phones(batchSize)...), 1}, // duplicates are asked about once
		{phones(10 * batchSize), 10},
	} {
		count(fmt.Sprintf("Contacts of %d phones", len(tc.phones)), tc.want, func() error {
			_, err := store.Contacts(ctx, tc.phones)
			return err
		})
	}
	count("OptedOut", optedOutTrips, func() error { _, err := store.OptedOut(ctx); return err })
}
