package mensatek

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Message is the content of a send: one of [Text], [Image], [Document], [Location],
// [LocationRequest], [List], [ReplyButtons], [Reaction], [CTAButton], [Template], or
// [RawMessage] for anything else. Each checks WhatsApp's limits before it is sent.
//
// The reference names only the template's Datosmensaje field (Plantilla). The names the other
// types send (Texto, URL, Cabecera, Pie, Botones, ...) are the likeliest and are unverified; if
// the live API wants others, add or override fields with [SendRequest.ExtraData] or send a
// [RawMessage].
type Message interface {
	// MessageType returns the wire type (Tipomensaje).
	MessageType() MessageType
	// validate checks the message and the recipients it needs.
	validate(to []Recipient) error
	// data returns the Datosmensaje fields.
	data() map[string]any
}

// WhatsApp's limits, in characters, as the SDK checks them before sending.
const (
	MaxTextLength          = 4096 // Text.Body
	MaxCaptionLength       = 1024 // Image and Document captions
	MaxInteractiveBody     = 1024 // bodies of lists, buttons, CTA buttons, location requests
	MaxHeaderLength        = 60   // interactive headers
	MaxFooterLength        = 60   // interactive footers
	MaxButtonTextLength    = 20   // a list's button, a CTA button's text
	MaxReplyButtons        = 3    // reply buttons per message
	MaxReplyButtonTitle    = 20   // a reply button's title
	MaxButtonIDLength      = 256  // a reply button's or list row's ID
	MaxListRows            = 10   // rows in all sections of a list
	MaxListSections        = 10   // sections of a list
	MaxListRowTitle        = 24   // a list row's title, and a section's title
	MaxListRowDescription  = 72   // a list row's description
	MaxTemplateNameLength  = 512  // a template's name
	MaxFilenameLength      = 240  // a document's file name
	MaxAccountStatusLength = 1024 // SetAccountStatus
)

// Text is a plain text message (TEXTO). Datosmensaje: Texto, and PrevisualizarURL = 1 when
// PreviewURL is set (unverified names).
type Text struct {
	// Body is the text, 1 to 4096 characters; WhatsApp formatting (*bold*, _italic_) and emoji work.
	Body string
	// PreviewURL asks WhatsApp to show a preview of the first URL in Body.
	PreviewURL bool
}

// MessageType returns TypeText.
func (Text) MessageType() MessageType { return TypeText }

func (m Text) validate([]Recipient) error {
	return checkRequired("Message.Body", m.Body, MaxTextLength)
}

func (m Text) data() map[string]any {
	d := map[string]any{"Texto": m.Body}
	if m.PreviewURL {
		d["PrevisualizarURL"] = 1
	}
	return d
}

// Template is an approved template message (PLANTILLA), the only type allowed outside the
// 24-hour window after a customer's last message. Its variables go in each [Recipient.Vars];
// [Client.SendChecked] checks them against the template first. Datosmensaje: Plantilla.
type Template struct {
	// Name is the template's name as [Client.Templates] lists it (not its ID).
	Name string
}

// MessageType returns TypeTemplate.
func (Template) MessageType() MessageType { return TypeTemplate }

func (m Template) validate([]Recipient) error {
	return checkRequired("Message.Name", m.Name, MaxTemplateNameLength)
}

func (m Template) data() map[string]any { return map[string]any{"Plantilla": m.Name} }

// Image is an image from a public URL (IMAGEN): JPEG or PNG, up to 5 MB. Datosmensaje: URL and
// Texto for the caption (unverified names).
type Image struct {
	URL     string // absolute http(s) URL the provider downloads the image from
	Caption string // optional, up to 1024 characters
}

// MessageType returns TypeImage.
func (Image) MessageType() MessageType { return TypeImage }

func (m Image) validate([]Recipient) error {
	if err := checkURL("Message.URL", m.URL); err != nil {
		return err
	}
	return checkLen("Message.Caption", m.Caption, MaxCaptionLength)
}

func (m Image) data() map[string]any {
	d := map[string]any{"URL": m.URL}
	if m.Caption != "" {
		d["Texto"] = m.Caption
	}
	return d
}

// Document is a file from a public URL (DOCUMENTO), such as a PDF, up to 100 MB. Datosmensaje:
// URL, Texto for the caption and NombreArchivo (unverified names).
type Document struct {
	URL      string // absolute http(s) URL the provider downloads the file from
	Filename string // optional name the customer sees, up to 240 characters
	Caption  string // optional, up to 1024 characters
}

// MessageType returns TypeDocument.
func (Document) MessageType() MessageType { return TypeDocument }

func (m Document) validate([]Recipient) error {
	if err := checkURL("Message.URL", m.URL); err != nil {
		return err
	}
	if strings.ContainsAny(m.Filename, "/\\") {
		return invalid("Message.Filename", "%q must be a file name, without a path", m.Filename)
	}
	if err := checkLen("Message.Filename", m.Filename, MaxFilenameLength); err != nil {
		return err
	}
	return checkLen("Message.Caption", m.Caption, MaxCaptionLength)
}

func (m Document) data() map[string]any {
	d := map[string]any{"URL": m.URL}
	if m.Filename != "" {
		d["NombreArchivo"] = m.Filename
	}
	if m.Caption != "" {
		d["Texto"] = m.Caption
	}
	return d
}

// Location is a map pin (UBICACION). Datosmensaje: Latitud, Longitud, Nombre and Direccion
// (unverified names).
type Location struct {
	Latitude  float64 // -90 to 90
	Longitude float64 // -180 to 180
	Name      string  // optional name of the place
	Address   string  // optional address
}

// MessageType returns TypeLocation.
func (Location) MessageType() MessageType { return TypeLocation }

func (m Location) validate([]Recipient) error {
	if math.IsNaN(m.Latitude) || m.Latitude < -90 || m.Latitude > 90 {
		return invalid("Message.Latitude", "%v is out of range; want -90 to 90", m.Latitude)
	}
	if math.IsNaN(m.Longitude) || m.Longitude < -180 || m.Longitude > 180 {
		return invalid("Message.Longitude", "%v is out of range; want -180 to 180", m.Longitude)
	}
	if err := checkLen("Message.Name", m.Name, 1000); err != nil {
		return err
	}
	return checkLen("Message.Address", m.Address, 1000)
}

func (m Location) data() map[string]any {
	d := map[string]any{"Latitud": m.Latitude, "Longitud": m.Longitude}
	if m.Name != "" {
		d["Nombre"] = m.Name
	}
	if m.Address != "" {
		d["Direccion"] = m.Address
	}
	return d
}

// LocationRequest asks the customer to share their location (SOLICITARUBICACION). Datosmensaje:
// Texto (unverified name).
type LocationRequest struct {
	Body string // the request's text, 1 to 1024 characters
}

// MessageType returns TypeLocationRequest.
func (LocationRequest) MessageType() MessageType { return TypeLocationRequest }

func (m LocationRequest) validate([]Recipient) error {
	return checkRequired("Message.Body", m.Body, MaxInteractiveBody)
}

func (m LocationRequest) data() map[string]any { return map[string]any{"Texto": m.Body} }

// List is a message with a button that opens a list of options (LISTA): up to 10 sections and
// 10 rows in all. The customer's choice arrives by webhook with the row's ID. Datosmensaje:
// Cabecera, Texto, Pie, Boton and Secciones, each with Titulo and Filas of Id, Titulo and
// Descripcion (unverified names).
type List struct {
	Header   string        // optional, up to 60 characters
	Body     string        // 1 to 1024 characters
	Footer   string        // optional, up to 60 characters
	Button   string        // the text of the button that opens the list, 1 to 20 characters
	Sections []ListSection // 1 to 10 sections, 1 to 10 rows in all
}

// ListSection is a titled group of rows in a [List].
type ListSection struct {
	Title string    // up to 24 characters; required when the list has more than one section
	Rows  []ListRow // at least one
}

// ListRow is one option of a [List].
type ListRow struct {
	ID          string // returned when the customer picks the row; unique in the list, up to 256 characters
	Title       string // 1 to 24 characters
	Description string // optional, up to 72 characters
}

// MessageType returns TypeList.
func (List) MessageType() MessageType { return TypeList }

func (m List) validate([]Recipient) error {
	if err := checkInteractive(m.Header, m.Body, m.Footer); err != nil {
		return err
	}
	if err := checkRequired("Message.Button", m.Button, MaxButtonTextLength); err != nil {
		return err
	}
	if len(m.Sections) == 0 {
		return invalid("Message.Sections", "a list needs at least one section with one row")
	}
	if len(m.Sections) > MaxListSections {
		return invalid("Message.Sections", "has %d sections; WhatsApp allows at most %d", len(m.Sections), MaxListSections)
	}
	rows := 0
	ids := make(map[string]bool)
	for i, s := range m.Sections {
		field := fmt.Sprintf("Message.Sections[%d]", i)
		if len(m.Sections) > 1 {
			if err := checkRequired(field+".Title", s.Title, MaxListRowTitle); err != nil {
				return err
			}
		} else if err := checkLen(field+".Title", s.Title, MaxListRowTitle); err != nil {
			return err
		}
		if len(s.Rows) == 0 {
			return invalid(field+".Rows", "a section needs at least one row")
		}
		for j, r := range s.Rows {
			rf := fmt.Sprintf("%s.Rows[%d]", field, j)
			if err := checkRequired(rf+".ID", r.ID, MaxButtonIDLength); err != nil {
				return err
			}
			if ids[r.ID] {
				return invalid(rf+".ID", "%q is used by another row; row IDs must be unique", r.ID)
			}
			ids[r.ID] = true
			if err := checkRequired(rf+".Title", r.Title, MaxListRowTitle); err != nil {
				return err
			}
			if err := checkLen(rf+".Description", r.Description, MaxListRowDescription); err != nil {
				return err
			}
		}
		rows += len(s.Rows)
	}
	if rows > MaxListRows {
		return invalid("Message.Sections", "has %d rows in all; WhatsApp allows at most %d", rows, MaxListRows)
	}
	return nil
}

func (m List) data() map[string]any {
	sections := make([]map[string]any, len(m.Sections))
	for i, s := range m.Sections {
		rows := make([]map[string]any, len(s.Rows))
		for j, r := range s.Rows {
			row := map[string]any{"Id": r.ID, "Titulo": r.Title}
			if r.Description != "" {
				row["Descripcion"] = r.Description
			}
			rows[j] = row
		}
		sec := map[string]any{"Filas": rows}
		if s.Title != "" {
			sec["Titulo"] = s.Title
		}
		sections[i] = sec
	}
	d := interactiveData(m.Header, m.Body, m.Footer)
	d["Boton"] = m.Button
	d["Secciones"] = sections
	return d
}

// ReplyButtons is a message with 1 to 3 quick-reply buttons (BOTONESRESPUESTA). The tapped
// button arrives by webhook with its ID. Datosmensaje: Cabecera, Texto, Pie and Botones of Id and
// Titulo (unverified names).
type ReplyButtons struct {
	Header  string        // optional, up to 60 characters
	Body    string        // 1 to 1024 characters
	Footer  string        // optional, up to 60 characters
	Buttons []ReplyButton // 1 to 3
}

// ReplyButton is one button of [ReplyButtons].
type ReplyButton struct {
	ID    string // returned when the customer taps it; unique in the message, up to 256 characters
	Title string // 1 to 20 characters
}

// MessageType returns TypeReplyButtons.
func (ReplyButtons) MessageType() MessageType { return TypeReplyButtons }

func (m ReplyButtons) validate([]Recipient) error {
	if err := checkInteractive(m.Header, m.Body, m.Footer); err != nil {
		return err
	}
	if len(m.Buttons) == 0 || len(m.Buttons) > MaxReplyButtons {
		return invalid("Message.Buttons", "has %d buttons; WhatsApp allows 1 to %d", len(m.Buttons), MaxReplyButtons)
	}
	ids := make(map[string]bool, len(m.Buttons))
	for i, b := range m.Buttons {
		f := fmt.Sprintf("Message.Buttons[%d]", i)
		if err := checkRequired(f+".ID", b.ID, MaxButtonIDLength); err != nil {
			return err
		}
		if ids[b.ID] {
			return invalid(f+".ID", "%q is used by another button; button IDs must be unique", b.ID)
		}
		ids[b.ID] = true
		if err := checkRequired(f+".Title", b.Title, MaxReplyButtonTitle); err != nil {
			return err
		}
	}
	return nil
}

func (m ReplyButtons) data() map[string]any {
	buttons := make([]map[string]any, len(m.Buttons))
	for i, b := range m.Buttons {
		buttons[i] = map[string]any{"Id": b.ID, "Titulo": b.Title}
	}
	d := interactiveData(m.Header, m.Body, m.Footer)
	d["Botones"] = buttons
	return d
}

// Reaction reacts with an emoji to a message a customer sent (REACCION). Every recipient must
// carry the received message's id in [Recipient.ReplyTo]. Datosmensaje: Emoji (unverified name).
type Reaction struct {
	Emoji string // one emoji, such as "👍" or "\U0001F600"
}

// MessageType returns TypeReaction.
func (Reaction) MessageType() MessageType { return TypeReaction }

func (m Reaction) validate(to []Recipient) error {
	if err := checkRequired("Message.Emoji", m.Emoji, 16); err != nil {
		return err
	}
	if !utf8.ValidString(m.Emoji) {
		return invalid("Message.Emoji", "is not valid UTF-8")
	}
	for i, r := range to {
		if r.ReplyTo <= 0 {
			return invalid(fmt.Sprintf("To[%d].ReplyTo", i), "a reaction needs the id of the message it reacts to")
		}
	}
	return nil
}

func (m Reaction) data() map[string]any { return map[string]any{"Emoji": m.Emoji} }

// CTAButton is a message with one button that opens a URL (BOTONESCTA). Datosmensaje: Cabecera,
// Texto, Pie, TextoBoton and URL (unverified names).
type CTAButton struct {
	Header string // optional, up to 60 characters
	Body   string // 1 to 1024 characters
	Footer string // optional, up to 60 characters
	Text   string // the button's text, 1 to 20 characters
	URL    string // absolute http(s) URL the button opens
}

// MessageType returns TypeCTAButton.
func (CTAButton) MessageType() MessageType { return TypeCTAButton }

func (m CTAButton) validate([]Recipient) error {
	if err := checkInteractive(m.Header, m.Body, m.Footer); err != nil {
		return err
	}
	if err := checkRequired("Message.Text", m.Text, MaxButtonTextLength); err != nil {
		return err
	}
	return checkURL("Message.URL", m.URL)
}

func (m CTAButton) data() map[string]any {
	d := interactiveData(m.Header, m.Body, m.Footer)
	d["TextoBoton"] = m.Text
	d["URL"] = m.URL
	return d
}

// RawMessage sends any type with Datosmensaje fields as given, unchecked: the escape hatch for
// what the typed messages do not cover.
type RawMessage struct {
	Type MessageType    // Tipomensaje, such as TypeText or a type this SDK does not know
	Data map[string]any // Datosmensaje, encoded as JSON
}

// MessageType returns m.Type.
func (m RawMessage) MessageType() MessageType { return m.Type }

func (m RawMessage) validate([]Recipient) error {
	if strings.TrimSpace(string(m.Type)) == "" {
		return invalid("Message.Type", "is required")
	}
	return nil
}

func (m RawMessage) data() map[string]any {
	d := make(map[string]any, len(m.Data))
	for k, v := range m.Data {
		d[k] = v
	}
	return d
}

func checkInteractive(header, body, footer string) error {
	if err := checkLen("Message.Header", header, MaxHeaderLength); err != nil {
		return err
	}
	if err := checkRequired("Message.Body", body, MaxInteractiveBody); err != nil {
		return err
	}
	return checkLen("Message.Footer", footer, MaxFooterLength)
}

func interactiveData(header, body, footer string) map[string]any {
	d := map[string]any{"Texto": body}
	if header != "" {
		d["Cabecera"] = header
	}
	if footer != "" {
		d["Pie"] = footer
	}
	return d
}
