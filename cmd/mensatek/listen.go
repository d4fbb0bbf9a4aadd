package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mensatek-go/mensatek"
)

// eventJSON is a webhook event as listen prints it, one per line.
type eventJSON struct {
	Service     string            `json:"service,omitempty"`
	Direction   string            `json:"direction"` // INPUT (from a customer) or OUTPUT (a status change of your send)
	Status      int               `json:"status"`
	Phone       string            `json:"phone"`
	ProfileName string            `json:"profile_name,omitempty"`
	Time        string            `json:"time,omitempty"` // RFC 3339, Madrid time
	MessageID   int64             `json:"message_id"`
	Reference   string            `json:"reference,omitempty"`
	Type        string            `json:"type,omitempty"`
	Message     *messageJSON      `json:"message,omitempty"`
	Consent     string            `json:"consent,omitempty"` // opted_out or opted_in, with --contacts
	Extra       map[string]string `json:"extra,omitempty"`
}

type messageJSON struct {
	Type     string           `json:"type"`
	Text     string           `json:"text,omitempty"`
	Media    *mensatekMedia   `json:"media,omitempty"`
	Location *locationJSON    `json:"location,omitempty"`
	Contacts []contactJSON    `json:"contacts,omitempty"`
	Reply    *replyJSON       `json:"reply,omitempty"`
	Button   *buttonJSON      `json:"button,omitempty"`
	Reaction *reactionJSON    `json:"reaction,omitempty"`
	Context  string           `json:"context,omitempty"`
	Raw      *json.RawMessage `json:"raw,omitempty"`
	RawText  string           `json:"raw_text,omitempty"` // Mensaje when it is not JSON
}

type mensatekMedia struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Animated bool   `json:"animated,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
}

type locationJSON struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

type contactJSON struct {
	Name   string   `json:"name,omitempty"`
	Phones []string `json:"phones,omitempty"`
	Emails []string `json:"emails,omitempty"`
}

type replyJSON struct {
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

type buttonJSON struct {
	Payload string `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

type reactionJSON struct {
	Emoji     string `json:"emoji"`
	MessageID string `json:"message_id,omitempty"`
}

func toEventJSON(ev *mensatek.Event) eventJSON {
	out := eventJSON{Service: ev.Service, Direction: string(ev.Direction), Status: ev.Status, Phone: ev.Phone,
		ProfileName: ev.ProfileName, MessageID: ev.MessageID, Reference: ev.Reference, Type: ev.Type, Extra: ev.Extra,
		Consent: string(ev.Consent)}
	if !ev.Time.IsZero() {
		out.Time = ev.Time.Format(time.RFC3339)
	}
	m := ev.Message
	if m == nil {
		return out
	}
	mj := &messageJSON{Type: string(m.Type), Text: m.Text, Context: m.Context}
	if len(m.Raw) > 0 {
		if json.Valid(m.Raw) {
			raw := m.Raw
			mj.Raw = &raw
		} else {
			mj.RawText = string(m.Raw)
		}
	}
	if md := m.Media; md != nil {
		mj.Media = &mensatekMedia{ID: md.ID, MimeType: md.MimeType, Caption: md.Caption, Filename: md.Filename,
			SHA256: md.SHA256, Animated: md.Animated, Voice: md.Voice}
	}
	if l := m.Location; l != nil {
		mj.Location = &locationJSON{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
	}
	for _, c := range m.Contacts {
		mj.Contacts = append(mj.Contacts, contactJSON{Name: c.Name, Phones: c.Phones, Emails: c.Emails})
	}
	if r := m.Reply; r != nil {
		mj.Reply = &replyJSON{Kind: string(r.Kind), ID: r.ID, Title: r.Title, Description: r.Description}
	}
	if b := m.Button; b != nil {
		mj.Button = &buttonJSON{Payload: b.Payload, Text: b.Text}
	}
	if r := m.Reaction; r != nil {
		mj.Reaction = &reactionJSON{Emoji: r.Emoji, MessageID: r.MessageID}
	}
	out.Message = mj
	return out
}

// prettyEvent writes an event as one readable line.
func prettyEvent(ev *mensatek.Event) string {
	var b strings.Builder
	t := ev.Time
	if t.IsZero() {
		t = time.Now().In(mensatek.MadridTime())
	}
	b.WriteString(t.Format("2006-01-02 15:04:05"))
	switch ev.Direction {
	case mensatek.Inbound:
		b.WriteString("  in   from ")
	case mensatek.Outbound:
		b.WriteString("  out  to ")
	default:
		fmt.Fprintf(&b, "  %s  ", sanitize(string(ev.Direction)))
	}
	b.WriteString(sanitize(ev.Phone))
	if ev.ProfileName != "" {
		fmt.Fprintf(&b, " (%s)", sanitize(ev.ProfileName))
	}
	fmt.Fprintf(&b, "  message %d  status %d", ev.MessageID, ev.Status)
	switch ev.Consent {
	case mensatek.ConsentOptedOut:
		b.WriteString("  OPTED OUT")
	case mensatek.ConsentOptedIn:
		b.WriteString("  OPTED IN")
	}
	if ev.Reference != "" {
		fmt.Fprintf(&b, "  reference %s", strconv.Quote(ev.Reference))
	}
	if m := ev.Message; m != nil {
		fmt.Fprintf(&b, "  %s", sanitize(m.Type))
		switch {
		case m.Reply != nil:
			fmt.Fprintf(&b, " %s id=%s", sanitize(m.Reply.Kind), strconv.Quote(m.Reply.ID))
		case m.Media != nil:
			fmt.Fprintf(&b, " %s id=%s", sanitize(m.Media.MimeType), strconv.Quote(m.Media.ID))
		case m.Location != nil:
			fmt.Fprintf(&b, " %g,%g", m.Location.Latitude, m.Location.Longitude)
		}
		if m.Text != "" {
			fmt.Fprintf(&b, " %s", strconv.Quote(m.Text))
		}
	} else if ev.Type != "" {
		fmt.Fprintf(&b, "  %s", sanitize(ev.Type))
	}
	return b.String()
}

func runListen(ctx context.Context, args []string, s *sys) int {
	const name = "listen"
	fs := newFlagSet(name)
	addr := fs.String("addr", ":8080", "`address` to listen on; 127.0.0.1:0 picks a free port")
	user := fs.String("user", "", "Basic auth `user` the panel sends (default $MENSATEK_WEBHOOK_USER)")
	password := fs.String("password", "", "Basic auth `password` the panel sends (default $MENSATEK_WEBHOOK_PASSWORD)")
	noAuth := fs.Bool("no-auth", false, "accept reports without credentials: anyone who reaches the address can post them (and change consent with --contacts)")
	pretty := fs.Bool("pretty", false, "print each event as a readable line instead of JSON")
	contacts := fs.String("contacts", "", "record customers' messages and opt-outs (BAJA, STOP...) here: "+contactsHelp+" (default $MENSATEK_CONTACTS)")
	fs.Bool("json", true, "print each event as one line of JSON")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "listen [--addr :8080] (--user U --password P | --no-auth) [--pretty] [flags]",
		about: `Receives Mensatek's webhooks (delivery reports and messages from customers) and prints each
event as one line of JSON on stdout, or as a readable line with --pretty. It answers the
provider as the SDK's handler does: 200 once printed, 400 for a body it cannot read, 401
without the right Basic credentials. A report delivered twice is printed once. Set the URL
in the panel (Your Data -> API configuration), through a tunnel if this machine is not
reachable. Ctrl-C stops it.

It needs the Basic credentials set in the panel (--user and --password, or
MENSATEK_WEBHOOK_USER and MENSATEK_WEBHOOK_PASSWORD), or --no-auth to accept reports from
anyone; without either it refuses to start.`,
		example: `mensatek listen --addr :8080 --user hook --password s3cret | jq .
mensatek listen --addr 127.0.0.1:9000 --pretty --no-auth`,
	}, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	}
	if *user == "" {
		*user = s.env("MENSATEK_WEBHOOK_USER")
	}
	if *password == "" {
		*password = s.env("MENSATEK_WEBHOOK_PASSWORD")
	}
	switch {
	case (*user == "") != (*password == ""):
		return s.fail(name, usagef("give both --user and --password, or neither"))
	case *user == "" && !*noAuth:
		return s.fail(name, usagef("no credentials: give --user and --password (or MENSATEK_WEBHOOK_USER and MENSATEK_WEBHOOK_PASSWORD), or --no-auth to accept reports from anyone"))
	case *user != "" && *noAuth:
		return s.fail(name, usagef("--no-auth and Basic credentials (--user, or MENSATEK_WEBHOOK_USER) contradict each other"))
	case strings.Contains(*user, ":"):
		return s.fail(name, usagef("--user must not contain a colon: Basic auth ends the user there"))
	}
	if *contacts == "" {
		*contacts = s.env("MENSATEK_CONTACTS")
	}
	var store mensatek.ContactStore
	if *contacts != "" {
		st, closeStore, err := openContacts(ctx, *contacts)
		if err != nil {
			return s.fail(name, err)
		}
		defer closeStore()
		store = st
	}

	stderr := &lockedWriter{w: s.stderr}
	var mu sync.Mutex // one event per line, even when reports arrive together
	handle := func(_ context.Context, ev *mensatek.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if *pretty {
			_, err := fmt.Fprintln(s.stdout, prettyEvent(ev))
			return err
		}
		return writeJSON(s.stdout, toEventJSON(ev))
	}
	opts := []mensatek.WebhookOption{
		mensatek.WithWebhookLogger(slog.New(slog.NewTextHandler(stderr, nil))),
	}
	if *noAuth {
		opts = append(opts, mensatek.WithoutWebhookAuth())
	} else {
		opts = append(opts, mensatek.WithWebhookBasicAuth(*user, *password))
	}
	if store != nil {
		opts = append(opts, mensatek.WithWebhookContacts(store))
	}
	handler := mensatek.NewWebhookHandler(handle, opts...)

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return s.fail(name, &localError{err})
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	bound := l.Addr().String()
	auth := "Basic auth required"
	if *noAuth {
		auth = "no auth (--no-auth): anyone can post; --user and --password require credentials"
	}
	fmt.Fprintf(stderr, "Listening for Mensatek webhooks on http://%s/ (%s); Ctrl-C stops.\n", bound, auth)
	if s.listening != nil {
		s.listening(bound)
	}
	return serveUntilDone(ctx, name, s, srv, l)
}

// serveUntilDone serves on l until ctx is cancelled, then shuts down gracefully.
func serveUntilDone(ctx context.Context, name string, s *sys, srv *http.Server, l net.Listener) int {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return s.fail(name, &localError{err})
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return s.fail(name, &localError{err})
	}
	return exitOK
}
