package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
)

// sendJSON is the --json output of send.
type sendJSON struct {
	MessageID   int64   `json:"message_id"`
	Sent        int     `json:"sent"`
	NotSent     int     `json:"not_sent"`
	Credits     float64 `json:"credits"`
	ScheduledAt string  `json:"scheduled_at,omitempty"` // Madrid time, "2006-01-02 15:04"
	Reference   string  `json:"reference,omitempty"`
}

func runSend(ctx context.Context, args []string, s *sys) int {
	const name = "send"
	fs := newFlagSet(name)
	var to, vars listFlag
	fs.Var(&to, "to", "recipient's `phone`, with its country prefix; repeat for several recipients")
	text := fs.String("text", "", "send this `text` (only within 24 hours of the customer's last message)")
	template := fs.String("template", "", "send the approved template with this `name`")
	fs.Var(&vars, "var", "a template variable as `FIELD=VALUE`, FIELD as 'mensatek template' lists it; repeat for each")
	image := fs.String("image", "", "send the image at this `URL`")
	document := fs.String("document", "", "send the document at this `URL`")
	caption := fs.String("caption", "", "`text` under the --image or --document")
	filename := fs.String("filename", "", "file `name` the customer sees for the --document")
	location := fs.String("location", "", "send a map pin at `LAT,LON`, such as 40.4168,-3.7038")
	at := fs.String("at", "", "schedule the send for this Madrid `time`, as \"YYYY-MM-DD HH:MM\"")
	reference := fs.String("reference", "", "your `reference` for the send, returned in delivery reports")
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "send --to PHONE (--text TEXT | --template NAME [--var FIELD=VALUE]... | --image URL [--caption TEXT] |\n" +
			"                     --document URL [--filename NAME] [--caption TEXT] | --location LAT,LON) [flags]",
		about: `Sends one message (API function EnviarWHATSAPP) and prints its id, how many recipients it
was sent and not sent to, and the credits left. Give exactly one of --text, --template,
--image, --document and --location. A template's variables are checked against the template
before anything is sent. Only templates can be sent outside the 24 hours after a customer's
last message.`,
		example: `mensatek send --to 34600000001 --text "Your order has shipped"
mensatek send --to 34600000001 --template customer_welcome --var Nombre=Ana \
  --var Variable_Cabecera_image=https://example.com/banner.jpg \
  --var Valor-URL-Boton-0=https://example.com/offer/1 --at "2030-07-01 10:00"
mensatek send --to 34600000001 --image https://example.com/sofa.jpg --caption "Your new sofa"`,
	}, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	}
	req, err := sendRequest(fs, to, vars, sendFlags{text: *text, template: *template, image: *image,
		document: *document, caption: *caption, filename: *filename, location: *location})
	if err != nil {
		return s.fail(name, err)
	}
	req.Reference = *reference
	if *at != "" {
		if req.ScheduleAt, err = parseAt(*at, time.Now()); err != nil {
			return s.fail(name, err)
		}
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	res, err := client.SendChecked(ctx, req)
	if err != nil {
		if res != nil && res.MessageID != 0 {
			err = fmt.Errorf("message %d: %w", res.MessageID, err)
		}
		return s.fail(name, err)
	}
	out := sendJSON{MessageID: res.MessageID, Sent: res.Sent, NotSent: res.NotSent, Credits: res.Credits,
		Reference: req.Reference}
	if !req.ScheduleAt.IsZero() {
		out.ScheduledAt = req.ScheduleAt.In(mensatek.MadridTime()).Format("2006-01-02 15:04") // the Fecha the API was sent
	}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, out))
	}
	what := "sent"
	if out.ScheduledAt != "" {
		what = "scheduled for " + out.ScheduledAt + " (Madrid time)"
	}
	_, err = fmt.Fprintf(s.stdout, "Message %d %s to %s (%d not sent); %s credits left.\n",
		out.MessageID, what, plural(out.Sent, "recipient"), out.NotSent, credits(out.Credits))
	return s.output(name, err)
}

type sendFlags struct {
	text, template, image, document, caption, filename, location string
}

// sendRequest builds the request from the flags, checking that exactly one kind of message is
// given and that the other flags fit it.
func sendRequest(fs *flag.FlagSet, to, vars listFlag, f sendFlags) (mensatek.SendRequest, error) {
	var req mensatek.SendRequest
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var kinds []string
	for _, k := range []string{"text", "template", "image", "document", "location"} {
		if set[k] {
			kinds = append(kinds, "--"+k)
		}
	}
	switch {
	case len(to) == 0:
		return req, usagef("--to is required")
	case len(kinds) == 0:
		return req, usagef("give one of --text, --template, --image, --document, --location")
	case len(kinds) > 1:
		return req, usagef("give only one of %s", strings.Join(kinds, ", "))
	case len(vars) > 0 && !set["template"]:
		return req, usagef("--var goes with --template")
	case set["caption"] && !set["image"] && !set["document"]:
		return req, usagef("--caption goes with --image or --document")
	case set["filename"] && !set["document"]:
		return req, usagef("--filename goes with --document")
	}

	var varMap map[string]string
	for _, v := range vars {
		field, value, ok := strings.Cut(v, "=")
		field = strings.TrimSpace(field)
		if !ok || field == "" {
			return req, usagef("--var %q: want FIELD=VALUE", v)
		}
		if strings.EqualFold(field, "Telefono") {
			return req, usagef("--var %s: give the phone with --to", field)
		}
		if varMap == nil {
			varMap = map[string]string{}
		}
		if _, dup := varMap[field]; dup {
			return req, usagef("--var %s is given twice", field)
		}
		varMap[field] = value
	}
	for _, phone := range to {
		req.To = append(req.To, mensatek.Recipient{Phone: phone, Vars: varMap})
	}

	switch {
	case set["text"]:
		req.Message = mensatek.Text{Body: f.text}
	case set["template"]:
		req.Message = mensatek.Template{Name: f.template}
	case set["image"]:
		req.Message = mensatek.Image{URL: f.image, Caption: f.caption}
	case set["document"]:
		req.Message = mensatek.Document{URL: f.document, Filename: f.filename, Caption: f.caption}
	case set["location"]:
		lat, lon, err := parseLocation(f.location)
		if err != nil {
			return req, err
		}
		req.Message = mensatek.Location{Latitude: lat, Longitude: lon}
	}
	return req, nil
}

func parseLocation(v string) (lat, lon float64, err error) {
	a, b, ok := strings.Cut(v, ",")
	if ok {
		lat, err = strconv.ParseFloat(strings.TrimSpace(a), 64)
	}
	if ok && err == nil {
		lon, err = strconv.ParseFloat(strings.TrimSpace(b), 64)
	}
	if !ok || err != nil {
		return 0, 0, usagef("--location %q: want LAT,LON in decimal degrees, such as 40.4168,-3.7038", v)
	}
	return lat, lon, nil
}

// resultJSON is the --json output of typing and status.
type resultJSON struct {
	Code    int     `json:"code"`
	Credits float64 `json:"credits"`
}

func runTyping(ctx context.Context, args []string, s *sys) int {
	const name = "typing"
	fs := newFlagSet(name)
	id := fs.Int64("id", 0, "`id` of the message the customer sent (the webhook event's message_id)")
	to := fs.String("to", "", "the customer's `phone`")
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "typing --id ID --to PHONE [flags]",
		about: `Shows the customer that you are typing a reply to the message they sent (API function
EscribiendoWhatsapp, a name the reference does not give: unverified).`,
		example: "mensatek typing --id 10573758 --to 34600000001",
	}, args)
	if done {
		return code
	}
	if err := checkMessageRef(pos, *id, "--to", *to); err != nil {
		return s.fail(name, err)
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	res, err := client.SendTyping(ctx, *id, *to)
	if err != nil {
		return s.fail(name, err)
	}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, resultJSON{Code: res.Code, Credits: res.Credits}))
	}
	_, err = fmt.Fprintf(s.stdout, "Typing indicator shown for message %d from %s; %s credits left.\n",
		*id, sanitize(*to), credits(res.Credits))
	return s.output(name, err)
}

func runStatus(ctx context.Context, args []string, s *sys) int {
	const name = "status"
	fs := newFlagSet(name)
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "status TEXT [flags]",
		about: `Changes the WhatsApp account's status text, up to 1024 characters (API function
CambiarEstadoWhatsapp, a name the reference does not give: unverified). WhatsApp may take
seconds or minutes to show it.`,
		example: `mensatek status "Open 9:00-20:00 · Abierto de 9 a 20"`,
	}, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return s.fail(name, usagef("give the status as one argument, in quotes"))
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	res, err := client.SetAccountStatus(ctx, pos[0])
	if err != nil {
		return s.fail(name, err)
	}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, resultJSON{Code: res.Code, Credits: res.Credits}))
	}
	_, err = fmt.Fprintf(s.stdout, "Account status set; WhatsApp may take a few minutes to show it. %s credits left.\n",
		credits(res.Credits))
	return s.output(name, err)
}

// mediaJSON is the --json output of media.
type mediaJSON struct {
	File        string `json:"file"`
	Bytes       int64  `json:"bytes"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename,omitempty"` // the name the file was sent with
}

func runMedia(ctx context.Context, args []string, s *sys) int {
	const name = "media"
	fs := newFlagSet(name)
	id := fs.Int64("id", 0, "`id` of the message the customer sent the file in (the webhook event's message_id)")
	from := fs.String("from", "", "the customer's `phone`")
	var out string
	fs.StringVar(&out, "o", "", "write the file to `FILE`; - writes it to stdout")
	fs.StringVar(&out, "output", "", "the same as -o")
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "media --id ID --from PHONE -o FILE [flags]",
		about: `Downloads a file a customer sent (an image, document, audio, video or sticker) and streams it
to FILE, so a large video never sits in memory (API function DescargarMultimediaWhatsapp, a
name the reference does not give: unverified). FILE appears only once the download is
complete; it is readable by you alone, since customers' files are personal data.`,
		example: "mensatek media --id 10573758 --from 34600000001 -o photo.jpg",
	}, args)
	if done {
		return code
	}
	if err := checkMessageRef(pos, *id, "--from", *from); err != nil {
		return s.fail(name, err)
	}
	switch {
	case out == "":
		return s.fail(name, usagef("-o FILE is required"))
	case out == "-" && *jsonOut:
		return s.fail(name, usagef("-o - writes the file to stdout: --json cannot go there too"))
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	if out == "-" {
		if _, err := client.DownloadMediaTo(ctx, *id, *from, s.stdout); err != nil {
			return s.fail(name, err)
		}
		return exitOK
	}
	info, err := download(ctx, client, *id, *from, out)
	if err != nil {
		return s.fail(name, err)
	}
	res := mediaJSON{File: out, Bytes: info.Size, ContentType: info.ContentType, Filename: info.Filename}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, res))
	}
	sentAs := ""
	if info.Filename != "" {
		sentAs = fmt.Sprintf(", sent as %q", sanitize(info.Filename))
	}
	_, err = fmt.Fprintf(s.stdout, "Saved %s: %d bytes, %s%s.\n", out, info.Size, sanitize(info.ContentType), sentAs)
	return s.output(name, err)
}

// download streams the file into a temporary file beside out and renames it to out once
// complete, so that a failed download never leaves a partial file under the name asked for.
func download(ctx context.Context, client *mensatek.Client, id int64, phone, out string) (*mensatek.MediaInfo, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return nil, &localError{err}
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	info, err := client.DownloadMediaTo(ctx, id, phone, tmp)
	if err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, &localError{err}
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, &localError{err}
	}
	ok = true
	return info, nil
}

// checkMessageRef checks the arguments of a command about a message a customer sent: no
// positional argument, its --id, and the customer's phone flag.
func checkMessageRef(pos []string, id int64, phoneFlag, phone string) error {
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case id <= 0:
		return usagef("--id is required: the id of the message the customer sent")
	case phone == "":
		return usagef("%s is required", phoneFlag)
	}
	return nil
}
