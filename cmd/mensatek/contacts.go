package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mensatek-go/mensatek"
)

// contactsHelp describes --contacts for the commands that take it.
const contactsHelp = "where opt-outs are kept: redis://HOST:PORT/DB, postgres://USER@HOST/DB, or a CSV `file` of opted-out phones"

// openContacts opens the contact store spec names: a Redis or PostgreSQL URL (the stores every
// replica of a service shares), or a CSV file of opted-out phones, created when missing. The
// returned function closes it.
func openContacts(ctx context.Context, spec string) (mensatek.ContactStore, func(), error) {
	switch scheme, _, _ := strings.Cut(spec, "://"); strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		return openRedisContacts(ctx, spec)
	case "postgres", "postgresql":
		return openPostgresContacts(ctx, spec)
	}
	if strings.Contains(spec, "://") {
		return nil, nil, usagef("--contacts %s: unknown scheme; use redis://, postgres:// or a CSV file", clipQuote(spec))
	}
	fc, err := loadFileContacts(spec)
	if err != nil {
		return nil, nil, err
	}
	return fc, func() {}, nil
}

// fileContacts is a contact store kept in a CSV file: one line per opted-out phone
// (phone,opted_out_at,source, with a header). Opt-outs and opt-ins are written to the file at
// once; when the customer last wrote is kept in memory only. For one process at a time.
type fileContacts struct {
	path string
	mu   sync.Mutex // guards mem and seen; one rewrite or reload at a time
	mem  *mensatek.MemoryContactStore
	seen fileStamp // the file as last read or written
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}
}

// Contacts reads the file again first if another process changed it (mensatek listen
// --contacts recording a BAJA while a campaign runs), so a campaign sees opt-outs as they come.
func (fc *fileContacts) Contacts(ctx context.Context, phones []string) (map[string]mensatek.Contact, error) {
	mem, err := fc.current()
	if err != nil {
		return nil, err
	}
	return mem.Contacts(ctx, phones)
}

// OptedOut lists the opted-out phones, reading the file again if it changed.
func (fc *fileContacts) OptedOut(ctx context.Context) ([]mensatek.Contact, error) {
	mem, err := fc.current()
	if err != nil {
		return nil, err
	}
	return mem.OptedOut(ctx)
}

// RecordInbound keeps when the customer wrote, in memory only.
func (fc *fileContacts) RecordInbound(ctx context.Context, phone string, t time.Time) error {
	fc.mu.Lock()
	mem := fc.mem
	fc.mu.Unlock()
	return mem.RecordInbound(ctx, phone, t)
}

// current returns the store as the file now says, reading it again if it changed.
func (fc *fileContacts) current() (*mensatek.MemoryContactStore, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if err := fc.reloadLocked(); err != nil {
		return nil, err
	}
	return fc.mem, nil
}

// reloadLocked reads the file again if another process changed it; fc.mu is held.
func (fc *fileContacts) reloadLocked() error {
	if stampOf(fc.path) == fc.seen {
		return nil
	}
	fresh, err := loadFileContacts(fc.path)
	if err != nil {
		return err
	}
	fc.mem, fc.seen = fresh.mem, fresh.seen
	return nil
}

var fileContactsHeader = []string{"phone", "opted_out_at", "source"}

// loadFileContacts reads path, which may be missing (an empty store). Its first column is the
// phone; the header and the other columns are optional, so a plain list of phones exported from
// elsewhere is read too.
func loadFileContacts(path string) (*fileContacts, error) {
	fc := &fileContacts{mem: mensatek.NewMemoryContactStore(), path: path, seen: stampOf(path)}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fc, nil
	}
	if err != nil {
		return nil, &localError{fmt.Errorf("--contacts: %w", err)}
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for line := 1; ; line++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid("--contacts", "%s: %s", path, boundLine(err.Error()))
		}
		raw := strings.TrimSpace(strings.TrimPrefix(cells[0], "\ufeff"))
		if raw == "" || (line == 1 && strings.EqualFold(raw, "phone")) {
			continue
		}
		phone, err := mensatek.NormalizePhone(raw)
		if err != nil {
			return nil, invalid("--contacts", "%s line %d: %s", path, line, clipQuote(raw))
		}
		at, source := time.Time{}, "file"
		if len(cells) > 1 && strings.TrimSpace(cells[1]) != "" {
			if at, err = time.Parse(time.RFC3339, strings.TrimSpace(cells[1])); err != nil {
				return nil, invalid("--contacts", "%s line %d: %s is not a time like 2026-11-26T10:00:00Z", path, line, clipQuote(cells[1]))
			}
		}
		if len(cells) > 2 && strings.TrimSpace(cells[2]) != "" {
			source = strings.TrimSpace(cells[2])
		}
		if at.IsZero() {
			at = time.Unix(0, 0).UTC() // older than any change made since
		}
		err = fc.mem.SetOptOut(context.Background(), phone, true, at, source)
		switch {
		case errors.Is(err, mensatek.ErrConsentSuperseded): // a phone listed again: its newest row stays
		case err != nil:
			return nil, invalid("--contacts", "%s line %d: %s", path, line, oneLine(err))
		}
	}
	return fc, nil
}

// SetOptOut records the change and rewrites the file with every opted-out phone.
func (fc *fileContacts) SetOptOut(ctx context.Context, phone string, optedOut bool, t time.Time, source string) error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if err := fc.reloadLocked(); err != nil {
		return err
	}
	if err := fc.mem.SetOptOut(ctx, phone, optedOut, t, source); err != nil {
		return err
	}
	list, err := fc.mem.OptedOut(ctx)
	if err != nil {
		return err
	}
	return fc.write(list)
}

// write replaces the file with list.
func (fc *fileContacts) write(list []mensatek.Contact) error {
	err := replaceCSV(fc.path, func(w *csv.Writer) {
		w.Write(fileContactsHeader)
		for _, c := range list {
			w.Write([]string{c.Phone, c.ConsentAt.UTC().Format(time.RFC3339), c.ConsentSource})
		}
	})
	if err != nil {
		return err
	}
	fc.seen = stampOf(fc.path)
	return nil
}

// runOptout records, lifts and lists opt-outs in a contact store.
func runOptout(ctx context.Context, args []string, s *sys) int {
	const name = "optout"
	fs := newFlagSet(name)
	contacts := fs.String("contacts", "", contactsHelp+" (default $MENSATEK_CONTACTS)")
	source := fs.String("source", "cli", "what made the change, kept with it (such as web-form or call-center)")
	region := fs.String("region", "", "read national phone numbers as numbers of this `country`, as campaign --region does (default $MENSATEK_REGION)")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "optout add|remove|list [PHONE...] --contacts STORE [--region ES] [flags]",
		about: `Records that customers do not want messages (add), lifts it (remove), or lists who opted out
(list), in the contact store that campaign --contacts and listen --contacts use: Redis or
PostgreSQL, shared by every process that sends, or a CSV file. Customers also opt out by
writing BAJA, STOP, CANCELAR, DARSE DE BAJA or UNSUBSCRIBE, and back in with ALTA or START,
which listen --contacts records.`,
		example: `mensatek optout add 34600000001 "+34 600 000 002" --contacts redis://localhost:6379/0
mensatek optout remove 34600000001 --contacts bajas.csv --source call-center
mensatek optout add "600 000 003" --region ES --contacts bajas.csv
mensatek optout list --contacts postgres://app@db/app`,
	}, args)
	if done {
		return code
	}
	if *contacts == "" {
		*contacts = s.env("MENSATEK_CONTACTS")
	}
	if *region == "" {
		*region = s.env("MENSATEK_REGION")
	}
	checker, err := newPhoneChecker(*region)
	if err != nil {
		return s.fail(name, err)
	}
	if len(pos) == 0 {
		return s.fail(name, usagef("say add, remove or list"))
	}
	verb, phones := pos[0], pos[1:]
	switch {
	case verb != "add" && verb != "remove" && verb != "list":
		return s.fail(name, usagef("unknown action %s: say add, remove or list", clipQuote(verb)))
	case *contacts == "":
		return s.fail(name, usagef("--contacts is required (or MENSATEK_CONTACTS)"))
	case verb == "list" && len(phones) > 0:
		return s.fail(name, usagef("list takes no phones"))
	case verb != "list" && len(phones) == 0:
		return s.fail(name, usagef("%s needs at least one phone", verb))
	}
	normalized := make([]string, len(phones))
	for i, p := range phones {
		// The reading a campaign gives its rows, so that the opt-out has the key its sends use.
		n, problem := checker.normalize(p)
		if problem != "" {
			return s.fail(name, invalid("phone", "%s: %s", clipQuote(p), problem))
		}
		normalized[i] = n
	}
	store, closeStore, err := openContacts(ctx, *contacts)
	if err != nil {
		return s.fail(name, err)
	}
	defer closeStore()

	if verb == "list" {
		list, err := store.OptedOut(ctx)
		if err != nil {
			return s.fail(name, err)
		}
		if *jsonOut {
			out := make([]optoutJSON, len(list))
			for i, c := range list {
				out[i] = optoutJSON{Phone: c.Phone, Since: c.ConsentAt.UTC().Format(time.RFC3339), Source: c.ConsentSource}
			}
			return s.output(name, writeJSON(s.stdout, out))
		}
		for _, c := range list {
			fmt.Fprintf(s.stdout, "%s\t%s\t%s\n", c.Phone, c.ConsentAt.UTC().Format(time.RFC3339), sanitize(c.ConsentSource))
		}
		return exitOK
	}
	now := time.Now()
	for _, p := range normalized {
		if err := store.SetOptOut(ctx, p, verb == "add", now, *source); err != nil {
			return s.fail(name, err)
		}
	}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, map[string]any{"action": verb, "phones": normalized}))
	}
	done2 := "opted out"
	if verb == "remove" {
		done2 = "opted back in"
	}
	fmt.Fprintf(s.stdout, "%s %s.\n", plural(len(normalized), "phone"), done2)
	return exitOK
}

type optoutJSON struct {
	Phone  string `json:"phone"`
	Since  string `json:"since"`
	Source string `json:"source"`
}
