package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/pgstore"
	"github.com/mensatek-go/mensatek/redisstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopAll()
	os.Exit(code)
}

// emptyRedis returns the URL of the test's Redis, emptied of earlier tests' contacts.
func emptyRedis(t *testing.T) string {
	t.Helper()
	url := testserver.RedisURL(t)
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	require.NoError(t, rdb.FlushDB(context.Background()).Err())
	return url
}

// A campaign against Redis, shared with another process that records opt-outs while it runs.
func TestCampaignWithRedisContacts(t *testing.T) {
	url := emptyRedis(t)
	srv, h := newFake(t)
	ctx := context.Background()
	r := h.run(ctx, "optout", "add", phone(2), "--contacts", url)
	require.Equal(t, exitOK, r.code, r.stderr)

	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	other := redisstore.NewContactStore(rdb) // another replica, such as 'mensatek listen --contacts'
	h.sys.batchDone = func(n int) {
		if n == 1 {
			require.NoError(t, other.SetOptOut(ctx, phone(5), true, time.Now(), "keyword:BAJA"))
		}
	}
	path := goodCSV(t, 6)
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--contacts", url, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, "3,6", sum.OptedOut.String(), "row 3 before the run, row 6 while it ran")
	assert.Equal(t, []string{phone(1), phone(3), phone(4), phone(6)}, sentPhones(srv))

	h.reset()
	r = h.run(ctx, "optout", "list", "--contacts", url)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, phone(2)+"\t")
	assert.Contains(t, r.stdout, phone(5)+"\t")

	h.reset()
	assertFailed(t, h.run(ctx, "optout", "list", "--contacts", "redis://127.0.0.1:1/0"), exitFailure, "Redis at 127.0.0.1:1")
}

func TestOptoutWithPostgres(t *testing.T) {
	url := testserver.PostgresURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgstore.DefaultContactTable)
	require.NoError(t, err)

	srv, h := newFake(t)
	r := h.run(ctx, "optout", "add", phone(1), "--contacts", url, "--source", "web-form")
	require.Equal(t, exitOK, r.code, r.stderr)
	h.reset()
	r = h.run(ctx, "optout", "list", "--contacts", url, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var list []optoutJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 1)
	assert.Equal(t, optoutJSON{Phone: phone(1), Since: list[0].Since, Source: "web-form"}, list[0])

	path := goodCSV(t, 2)
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--contacts", url)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{phone(2)}, sentPhones(srv))
}
