package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/redisstore/internal/batch"
	"github.com/redis/go-redis/v9"
)

// ContactBatchSize is the most phones [ContactStore.Contacts] asks Redis about in one round trip.
const ContactBatchSize = 1000

// ContactStore is a [mensatek.ContactStore] on Redis, shared by replicas: what one replica's
// webhook records, every replica's client checks.
//
// Keys (with the default prefix "mensatek:"):
//   - "mensatek:contact:" and the phone: a hash per phone holding when the customer last wrote
//     (field "in", Unix microseconds). Customers who write are many, so these spread over a
//     Cluster's nodes.
//   - "mensatek:{contacts}:consent": a hash, one field per phone whose consent ever changed,
//     holding the latest change ("1" or "0" for opted out or in, its time in Unix
//     microseconds, and its source).
//   - "mensatek:{contacts}:optedout": a sorted set of the phones opted out now, which
//     [ContactStore.OptedOut] lists in order.
//
// The two consent keys share the hash tag "{contacts}", so on Redis Cluster they live in one
// slot (one node), and a consent change updates both atomically, in one Lua script, without
// a cross-slot command. Consent changes are rare next to messages (a hash field and a set member
// per phone that ever opted out or in), so one slot holds them comfortably. Do not put braces in
// the prefix unless you mean to put every key in one slot.
//
// Every write is one round trip (a short Lua script, EVALSHA) applying
// [mensatek.ConsentChangeWins] inside Redis, so concurrent writers and late webhooks never undo a
// newer change. [ContactStore.Contacts]
// reads up to [ContactBatchSize] phones in one pipelined round trip (on Cluster, go-redis sends
// one pipeline per node involved, in parallel).
//
// Times are kept as Unix microseconds and come back in UTC, truncated to the microsecond; two
// changes within the same microsecond count as simultaneous. Times [mensatek.CheckContactTime]
// refuses (before 1970, or more than a day past this process's clock) are refused with its
// error, before anything is sent; every other time is one Lua's numbers hold exactly. A zero
// time is kept as "never".
type ContactStore struct {
	rdb              redis.UniversalClient
	probe            *prober
	contactPrefix    string
	consent, indexed string
}

// NewContactStore returns a contact store on rdb (a *redis.Client, *redis.ClusterClient or
// *redis.Ring, or any redis.UniversalClient). Of the options, [WithPrefix], [WithLogger] and
// [WithoutServerCheck] apply.
//
// It starts a check of the server in the background (one round trip) and logs a warning when
// the server would lose contacts: an allkeys-* maxmemory-policy (contact keys have no expiry,
// so volatile-* policies leave them alone), or no persistence at all. A lost contact is a lost
// opt-out: a customer who wrote BAJA would get your campaigns again. A server that refuses
// CONFIG is not checked (a debug record says so).
func NewContactStore(rdb redis.UniversalClient, opts ...Option) *ContactStore {
	o := buildOptions(opts)
	startServerCheck(rdb, o, contactsKind)
	return &ContactStore{
		rdb:           rdb,
		probe:         newProber(rdb),
		contactPrefix: o.prefix + "contact:",
		consent:       o.prefix + "{contacts}:consent",
		indexed:       o.prefix + "{contacts}:optedout",
	}
}

// inboundScript: KEYS[1] the phone's hash; ARGV[1] the time in Unix microseconds. Keeps the
// later of the stored time and ARGV[1]. Returns 1 if it changed the hash.
var inboundScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'in'))
if cur and cur >= tonumber(ARGV[1]) then
	return 0
end
redis.call('HSET', KEYS[1], 'in', ARGV[1])
return 1
`)

// consentScript: KEYS[1] the consent hash, KEYS[2] the opted-out set; ARGV[1] the phone,
// ARGV[2] "1" to opt out or "0" to opt in, ARGV[3] the time in Unix microseconds ("" for the
// zero time), ARGV[4] the source. Applies the change if it wins by mensatek.ConsentChangeWins:
// nothing stored (or a zero time stored); else not a zero time, and a change of the same kind
// not older, an opt-out not older than the stored opt-in by more than the margin, an opt-in
// newer than the stored opt-out by more than the margin. Returns 1 if it applied the change,
// else the stored value.
var consentScript = redis.NewScript(`
local margin = ` + strconv.FormatInt(mensatek.ConsentOrderMargin.Microseconds(), 10) + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
	local out, at = string.match(v, '^([01])|(-?%d*)|')
	if out and at ~= '' then
		if ARGV[3] == '' then
			return v
		end
		local stored, new = tonumber(at), tonumber(ARGV[3])
		local wins
		if ARGV[2] == out then
			wins = new >= stored
		elseif ARGV[2] == '1' then
			wins = stored - new <= margin
		else
			wins = new - stored > margin
		end
		if not wins then
			return v
		end
	end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
if ARGV[2] == '1' then
	redis.call('ZADD', KEYS[2], 0, ARGV[1])
else
	redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`)

// The times a Lua number holds exactly, in Unix microseconds.
var (
	minTime = time.UnixMicro(-(1 << 53))
	maxTime = time.UnixMicro(1 << 53)
)

// micros encodes t for the scripts: Unix microseconds, or "" for the zero time.
func micros(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return "", fmt.Errorf("time %v is out of the range the store keeps (%d to %d)", t, minTime.Year(), maxTime.Year())
	}
	return strconv.FormatInt(t.UnixMicro(), 10), nil
}

// parseMicros decodes what micros encoded; "" is the zero time.
func parseMicros(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("a time %q that is no number", s)
	}
	return time.UnixMicro(n).UTC(), nil
}

// RecordInbound records that phone's customer wrote at t, unless a later time is stored. A zero
// t records nothing; a time [mensatek.CheckContactTime] refuses (by this process's clock) is a
// [*mensatek.ValidationError].
func (s *ContactStore) RecordInbound(ctx context.Context, phone string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: record inbound: %w", err)
	}
	if err := mensatek.CheckContactTime(t, time.Now()); err != nil {
		return fmt.Errorf("redisstore: record inbound: %w", err)
	}
	at, err := micros(t)
	if err != nil {
		return fmt.Errorf("redisstore: record inbound: %w", err)
	}
	if at == "" {
		return nil
	}
	err = run(ctx, s.probe, func(ctx context.Context) error {
		return inboundScript.Run(ctx, s.rdb, []string{s.contactPrefix + phone}, at).Err()
	})
	if err != nil {
		return fmt.Errorf("redisstore: record inbound: %w", err)
	}
	return nil
}

// SetOptOut records an opt-out (optedOut true) or an opt-in made at t by source, if it wins
// over the stored change by [mensatek.ConsentChangeWins], in one script; a change that loses
// records nothing and returns a [*mensatek.ConsentSupersededError] whose Stored holds the
// stored change (its LastInbound is not read). A time [mensatek.CheckContactTime] refuses (by
// this process's clock) is a [*mensatek.ValidationError].
func (s *ContactStore) SetOptOut(ctx context.Context, phone string, optedOut bool, t time.Time, source string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: set opt-out: %w", err)
	}
	if err := mensatek.CheckContactTime(t, time.Now()); err != nil {
		return fmt.Errorf("redisstore: set opt-out: %w", err)
	}
	at, err := micros(t)
	if err != nil {
		return fmt.Errorf("redisstore: set opt-out: %w", err)
	}
	flag := "0"
	if optedOut {
		flag = "1"
	}
	res, err := bounded(ctx, s.probe, func(ctx context.Context) (any, error) {
		return consentScript.Run(ctx, s.rdb, []string{s.consent, s.indexed}, phone, flag, at, source).Result()
	})
	if err != nil {
		return fmt.Errorf("redisstore: set opt-out: %w", err)
	}
	stored, ok := res.(string)
	if !ok {
		return nil // 1: applied
	}
	se := &mensatek.ConsentSupersededError{Phone: phone, OptedOut: optedOut, At: t, Stored: mensatek.Contact{Phone: phone}}
	if err := parseConsent(stored, &se.Stored); err != nil {
		return fmt.Errorf("redisstore: set opt-out: the consent of %s: %w", phone, err)
	}
	return se
}

// Contacts returns what the store knows of each phone, keyed by phone; a phone it knows nothing
// of is absent. It asks about [ContactBatchSize] distinct phones per round trip.
func (s *ContactStore) Contacts(ctx context.Context, phones []string) (map[string]mensatek.Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: contacts: %w", err)
	}
	out, err := bounded(ctx, s.probe, func(ctx context.Context) (map[string]mensatek.Contact, error) {
		out := make(map[string]mensatek.Contact)
		err := batch.Distinct(phones, ContactBatchSize, func(batch []string) error { return s.lookup(ctx, batch, out) })
		return out, err
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: contacts: %w", err)
	}
	return out, nil
}

// lookup reads phones (distinct, at most ContactBatchSize) in one pipeline and adds those known
// to out.
func (s *ContactStore) lookup(ctx context.Context, phones []string, out map[string]mensatek.Contact) error {
	pipe := s.rdb.Pipeline()
	inbound := make([]*redis.StringCmd, len(phones))
	for i, p := range phones {
		inbound[i] = pipe.HGet(ctx, s.contactPrefix+p, "in")
	}
	consent := pipe.HMGet(ctx, s.consent, phones...)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	values, err := consent.Result()
	if err != nil {
		return err
	}
	if len(values) != len(phones) {
		return fmt.Errorf("HMGET returned %d values for %d fields", len(values), len(phones))
	}
	for i, p := range phones {
		var c mensatek.Contact
		known := false
		in, err := inbound[i].Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return err
		default:
			if c.LastInbound, err = parseMicros(in); err != nil {
				return fmt.Errorf("the contact of %s: %w", p, err)
			}
			known = true
		}
		if v, ok := values[i].(string); ok {
			if err := parseConsent(v, &c); err != nil {
				return fmt.Errorf("the consent of %s: %w", p, err)
			}
			known = true
		}
		if known {
			c.Phone = p
			out[p] = c
		}
	}
	return nil
}

// parseConsent decodes what consentScript wrote: "1|micros|source" or "0|micros|source".
func parseConsent(v string, c *mensatek.Contact) error {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 || (parts[0] != "0" && parts[0] != "1") {
		return fmt.Errorf("a value %q the store did not write", v)
	}
	at, err := parseMicros(parts[1])
	if err != nil {
		return err
	}
	c.OptedOut, c.ConsentAt, c.ConsentSource = parts[0] == "1", at, parts[2]
	return nil
}

// OptedOut lists every phone opted out now, sorted by phone (Redis orders the set by bytes, as
// Go compares strings), [ContactBatchSize] phones per page: each page costs two round trips (a
// page of the set with ZRANGE ... BYLEX, which needs Redis 6.2 or newer, then its contacts).
func (s *ContactStore) OptedOut(ctx context.Context) ([]mensatek.Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: opted out: %w", err)
	}
	list, err := bounded(ctx, s.probe, s.optedOut)
	if err != nil {
		return nil, fmt.Errorf("redisstore: opted out: %w", err)
	}
	return list, nil
}

// optedOut is OptedOut, page by page.
func (s *ContactStore) optedOut(ctx context.Context) ([]mensatek.Contact, error) {
	var list []mensatek.Contact
	from := "-"
	for {
		page, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.indexed, Start: from, Stop: "+", ByLex: true, Count: ContactBatchSize}).Result()
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		got := make(map[string]mensatek.Contact, len(page))
		if err := s.lookup(ctx, page, got); err != nil {
			return nil, err
		}
		for _, p := range page {
			// A phone that opted back in between the two reads is left out.
			if c, ok := got[p]; ok && c.OptedOut {
				list = append(list, c)
			}
		}
		if len(page) < ContactBatchSize {
			break
		}
		from = "(" + page[len(page)-1]
	}
	return list, nil
}

var _ mensatek.ContactStore = (*ContactStore)(nil)
