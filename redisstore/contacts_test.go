package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/contactstoretest"
	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/redisstore"
)

// testPrefix returns a key prefix of its own for one store.
func testPrefix() string { return "test:" + dedupstoretest.Token() + ":" }

func TestContactStoreConformance(t *testing.T) {
	rdb := client(t)
	contactstoretest.Run(t, contactstoretest.Harness{
		New: func(t *testing.T) mensatek.ContactStore {
			return redisstore.NewContactStore(rdb, redisstore.WithPrefix(testPrefix()))
		},
		Broken: func(t *testing.T) mensatek.ContactStore { return redisstore.NewContactStore(deadClient(t)) },
	})
}

// clusterClient returns a Redis Cluster client of the test's one-node cluster, closed at the end
// of the test.
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{testserver.RedisClusterAddr(t)}, PoolSize: 64})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// On Redis Cluster, which refuses any command or script across slots.
func TestContactStoreConformanceOnCluster(t *testing.T) {
	rdb := clusterClient(t)
	contactstoretest.Run(t, contactstoretest.Harness{
		New: func(t *testing.T) mensatek.ContactStore {
			return redisstore.NewContactStore(rdb, redisstore.WithPrefix(testPrefix()))
		},
	})
	// The two consent keys share a slot; the phones' keys spread over others.
	ctx := context.Background()
	prefix := testPrefix()
	consent := rdb.ClusterKeySlot(ctx, prefix+"{contacts}:consent").Val()
	if set := rdb.ClusterKeySlot(ctx, prefix+"{contacts}:optedout").Val(); set != consent {
		t.Fatalf("the consent keys are in slots %d and %d", consent, set)
	}
	slots := map[int64]bool{}
	for i := 0; i < 10; i++ {
		slots[rdb.ClusterKeySlot(ctx, fmt.Sprintf("%scontact:3460000000%d", prefix, i)).Val()] = true
	}
	if len(slots) < 2 {
		t.Fatalf("ten phones' keys share %d slot", len(slots))
	}
}

// Two replicas: two clients (two connection pools) and two store values on one Redis.
func TestContactStoreReplicas(t *testing.T) {
	prefix := testPrefix()
	contactstoretest.RunReplicas(t,
		redisstore.NewContactStore(client(t), redisstore.WithPrefix(prefix)),
		redisstore.NewContactStore(client(t), redisstore.WithPrefix(prefix)))
}

// A campaign's check of n recipients costs one round trip per 1,000 distinct phones, however
// many of them the store knows, and whatever the duplicates.
func TestContactStoreRoundTrips(t *testing.T) {
	rdb := client(t)
	s := redisstore.NewContactStore(rdb, redisstore.WithPrefix(testPrefix()), redisstore.WithoutServerCheck()) // counting round trips
	ctx := context.Background()
	// Load the scripts once, as the first use in a process does.
	if err := s.RecordInbound(ctx, "34600000000", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, "34600000000", true, time.Now(), "warm"); err != nil {
		t.Fatal(err)
	}
	var c counter
	rdb.AddHook(&c)
	// OptedOut: two round trips per page of 1,000 (51 phones here).
	contactstoretest.RunRoundTrips(t, s, c.n.Load, redisstore.ContactBatchSize, 2)
}

func TestContactStoreKeys(t *testing.T) {
	rdb := client(t)
	prefix := testPrefix()
	s := redisstore.NewContactStore(rdb, redisstore.WithPrefix(prefix))
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	if err := s.RecordInbound(ctx, "34600000001", at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, "34600000001", true, at, "keyword:BAJA"); err != nil {
		t.Fatal(err)
	}
	if v := rdb.HGet(ctx, prefix+"contact:34600000001", "in").Val(); v != "1795687200123456" {
		t.Fatalf("the phone's hash holds in=%q", v)
	}
	if v := rdb.HGet(ctx, prefix+"{contacts}:consent", "34600000001").Val(); v != "1|1795687200123456|keyword:BAJA" {
		t.Fatalf("the consent hash holds %q", v)
	}
	if m := rdb.ZRange(ctx, prefix+"{contacts}:optedout", 0, -1).Val(); len(m) != 1 || m[0] != "34600000001" {
		t.Fatalf("the opted-out set holds %v", m)
	}
	// Back in UTC, truncated to the microsecond.
	c, err := s.Contacts(ctx, []string{"34600000001"})
	if err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Microsecond)
	if got := c["34600000001"]; got.LastInbound != want || got.ConsentAt != want {
		t.Fatalf("times came back as %v and %v, want %v", got.LastInbound, got.ConsentAt, want)
	}

	// Values the store did not write are errors, not panics or guesses.
	if err := rdb.HSet(ctx, prefix+"contact:34600000002", "in", "yesterday").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Contacts(ctx, []string{"34600000002"}); err == nil {
		t.Fatal("a time that is no number: no error")
	}
	if err := rdb.HSet(ctx, prefix+"{contacts}:consent", "34600000003", "garbage").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Contacts(ctx, []string{"34600000003"}); err == nil {
		t.Fatal("a consent value the store did not write: no error")
	}
	// A garbage consent value is replaced by the next change rather than blocking it.
	if err := s.SetOptOut(ctx, "34600000003", true, at, "web-form"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Contacts(ctx, []string{"34600000003"}); err != nil || !c["34600000003"].OptedOut {
		t.Fatalf("after a change over garbage: %+v %v", c, err)
	}
	// Times Lua cannot hold exactly are refused before anything is sent, as every store refuses
	// them (mensatek.CheckContactTime); the zero time is "never".
	var ve *mensatek.ValidationError
	if err := s.RecordInbound(ctx, "34600000004", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.As(err, &ve) {
		t.Fatalf("a time past 2255: %v, want a *mensatek.ValidationError", err)
	}
	if err := s.RecordInbound(ctx, "34600000004", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, "34600000004", true, time.Time{}, "zero"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, "34600000004", false, time.Time{}, "zero again"); err != nil {
		t.Fatal(err)
	}
	c, err = s.Contacts(ctx, []string{"34600000004"})
	if err != nil {
		t.Fatal(err)
	}
	got := c["34600000004"]
	// As mensatek.ConsentChangeWins says: with no time stored, any change wins.
	if !got.LastInbound.IsZero() || !got.ConsentAt.IsZero() || got.OptedOut || got.ConsentSource != "zero again" {
		t.Fatalf("zero times: %+v", got)
	}
}

func BenchmarkContactStoreContacts10k(b *testing.B) {
	contactstoretest.BenchmarkContacts(b, redisstore.NewContactStore(client(b), redisstore.WithPrefix("bench:"+dedupstoretest.Token()+":")), 10000)
}
