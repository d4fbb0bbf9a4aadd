package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/pgstore/internal/batch"
)

// DefaultContactTable is the table of a [ContactStore] unless [WithTable] names another.
const DefaultContactTable = "mensatek_contacts"

// ContactBatchSize is the most phones [ContactStore.Contacts] asks about in one query.
const ContactBatchSize = 1000

// ContactStore is a [mensatek.ContactStore] on PostgreSQL, shared by replicas: what one
// replica's webhook records, every replica's client checks. Each phone is one row (phone,
// last_inbound, opted_out, consent_at, consent_source); a partial index on the opted-out phones
// serves [ContactStore.OptedOut].
//
// Every write is one statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE) that applies
// [mensatek.ConsentChangeWins] in the database, so concurrent writers and late webhooks never
// undo a newer change (a consent change that loses costs a second query, reading what won).
// [ContactStore.Contacts] asks about up to [ContactBatchSize] phones per query (WHERE phone = ANY($1)).
//
// Times are timestamptz: they come back in UTC, truncated to the microsecond, and two changes
// within the same microsecond count as simultaneous. Times [mensatek.CheckContactTime] refuses
// (before 1970, or more than a day past this process's clock) are refused with its error,
// before any query. A zero time is kept as NULL ("never").
type ContactStore struct {
	pool *pgxpool.Pool

	inboundSQL, consentSQL, storedSQL, contactsSQL, optedOutSQL string
}

// NewContactStore returns a contact store on pool, creating its table (default
// "mensatek_contacts"; see [WithTable]) and its index if they do not exist. Of the options,
// WithTable applies.
func NewContactStore(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*ContactStore, error) {
	o := options{table: DefaultContactTable, retention: DefaultRetention, cleanup: DefaultCleanupInterval}
	if err := o.apply(opts); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, errors.New("pgstore: NewContactStore: nil pool")
	}
	parts := strings.Split(o.table, ".")
	table := pgx.Identifier(parts).Sanitize()
	index := pgx.Identifier{parts[len(parts)-1] + "_opted_out_idx"}.Sanitize()
	create := `CREATE TABLE IF NOT EXISTS ` + table + ` (
	phone          text PRIMARY KEY,
	last_inbound   timestamptz,
	opted_out      boolean NOT NULL DEFAULT false,
	consent_at     timestamptz,
	consent_source text NOT NULL DEFAULT ''
)`
	// OptedOut lists in byte order (COLLATE "C"), as Go compares strings, whatever the
	// database's collation; the partial index holds only the opted-out phones, in that order.
	createIndex := `CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + table + ` (phone COLLATE "C") WHERE opted_out`
	for _, stmt := range []string{create, createIndex} {
		if err := execDDL(ctx, pool, stmt); err != nil {
			return nil, fmt.Errorf("pgstore: creating the table %s: %w", table, err)
		}
	}
	s := &ContactStore{pool: pool}
	s.inboundSQL = `INSERT INTO ` + table + ` AS c (phone, last_inbound) VALUES ($1, $2)
ON CONFLICT (phone) DO UPDATE SET last_inbound = excluded.last_inbound
WHERE c.last_inbound IS NULL OR c.last_inbound < excluded.last_inbound`
	// mensatek.ConsentChangeWins in SQL: nothing stored (or a NULL time stored) loses to any
	// change; a NULL (zero) time loses to a stored time; a change of the same kind wins if not
	// older; an opt-out wins unless the stored opt-in is newer by more than the margin; an
	// opt-in wins only if newer than the stored opt-out by more than the margin. RETURNING gives
	// a row only when the change was applied.
	margin := strconv.FormatInt(mensatek.ConsentOrderMargin.Microseconds(), 10)
	s.consentSQL = `INSERT INTO ` + table + ` AS c (phone, opted_out, consent_at, consent_source) VALUES ($1, $2, $3, $4)
ON CONFLICT (phone) DO UPDATE SET opted_out = excluded.opted_out, consent_at = excluded.consent_at,
	consent_source = excluded.consent_source
WHERE c.consent_at IS NULL OR (excluded.consent_at IS NOT NULL AND CASE
	WHEN excluded.opted_out = c.opted_out THEN excluded.consent_at >= c.consent_at
	WHEN excluded.opted_out THEN c.consent_at - excluded.consent_at <= interval '` + margin + ` microseconds'
	ELSE excluded.consent_at - c.consent_at > interval '` + margin + ` microseconds'
END)
RETURNING true`
	s.storedSQL = `SELECT phone, last_inbound, opted_out, consent_at, consent_source FROM ` + table + ` WHERE phone = $1`
	s.contactsSQL = `SELECT phone, last_inbound, opted_out, consent_at, consent_source FROM ` + table + `
WHERE phone = ANY($1)`
	s.optedOutSQL = `SELECT phone, last_inbound, opted_out, consent_at, consent_source FROM ` + table + `
WHERE opted_out ORDER BY phone COLLATE "C"`
	return s, nil
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// RecordInbound records that phone's customer wrote at t, unless a later time is stored. A zero
// t records nothing; a time [mensatek.CheckContactTime] refuses (by this process's clock) is a
// [*mensatek.ValidationError].
func (s *ContactStore) RecordInbound(ctx context.Context, phone string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: record inbound: %w", err)
	}
	if err := mensatek.CheckContactTime(t, time.Now()); err != nil {
		return fmt.Errorf("pgstore: record inbound: %w", err)
	}
	if t.IsZero() {
		return nil
	}
	if _, err := s.pool.Exec(ctx, s.inboundSQL, phone, t); err != nil {
		return fmt.Errorf("pgstore: record inbound: %w", err)
	}
	return nil
}

// SetOptOut records an opt-out (optedOut true) or an opt-in made at t by source, if it wins
// over the stored change by [mensatek.ConsentChangeWins], in one statement; a change that loses
// records nothing and returns a [*mensatek.ConsentSupersededError] with the stored row, read
// by a second query. A time [mensatek.CheckContactTime] refuses (by this process's clock) is a
// [*mensatek.ValidationError].
func (s *ContactStore) SetOptOut(ctx context.Context, phone string, optedOut bool, t time.Time, source string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: set opt-out: %w", err)
	}
	if err := mensatek.CheckContactTime(t, time.Now()); err != nil {
		return fmt.Errorf("pgstore: set opt-out: %w", err)
	}
	var applied bool
	err := s.pool.QueryRow(ctx, s.consentSQL, phone, optedOut, nullTime(t), source).Scan(&applied)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: set opt-out: %w", err)
	}
	se := &mensatek.ConsentSupersededError{Phone: phone, OptedOut: optedOut, At: t}
	found := false
	if err := s.scan(ctx, func(c mensatek.Contact) { se.Stored, found = c, true }, s.storedSQL, phone); err != nil {
		return fmt.Errorf("pgstore: set opt-out: not applied; reading the stored change: %w", err)
	}
	if !found {
		return fmt.Errorf("pgstore: set opt-out: not applied, and %s has no row", phone)
	}
	return se
}

// Contacts returns what the store knows of each phone, keyed by phone; a phone it knows nothing
// of is absent. It asks about [ContactBatchSize] distinct phones per query.
func (s *ContactStore) Contacts(ctx context.Context, phones []string) (map[string]mensatek.Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: contacts: %w", err)
	}
	out := make(map[string]mensatek.Contact)
	err := batch.Distinct(phones, ContactBatchSize, func(batch []string) error { return s.query(ctx, out, s.contactsSQL, batch) })
	if err != nil {
		return nil, fmt.Errorf("pgstore: contacts: %w", err)
	}
	return out, nil
}

// OptedOut lists every phone opted out now, sorted by phone (byte order), in one query.
func (s *ContactStore) OptedOut(ctx context.Context) ([]mensatek.Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: opted out: %w", err)
	}
	var list []mensatek.Contact
	if err := s.scan(ctx, func(c mensatek.Contact) { list = append(list, c) }, s.optedOutSQL); err != nil {
		return nil, fmt.Errorf("pgstore: opted out: %w", err)
	}
	return list, nil
}

// query runs a contacts query and adds each row to out.
func (s *ContactStore) query(ctx context.Context, out map[string]mensatek.Contact, sql string, args ...any) error {
	return s.scan(ctx, func(c mensatek.Contact) { out[c.Phone] = c }, sql, args...)
}

// scan runs a query whose rows are contacts and calls add with each.
func (s *ContactStore) scan(ctx context.Context, add func(mensatek.Contact), sql string, args ...any) error {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c mensatek.Contact
		var inbound, consent *time.Time
		if err := rows.Scan(&c.Phone, &inbound, &c.OptedOut, &consent, &c.ConsentSource); err != nil {
			return err
		}
		if inbound != nil {
			c.LastInbound = inbound.UTC()
		}
		if consent != nil {
			c.ConsentAt = consent.UTC()
		}
		add(c)
	}
	return rows.Err()
}

var _ mensatek.ContactStore = (*ContactStore)(nil)
