package mensatek

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Operation names one of the API functions the client calls. [WithEndpoint] overrides the
// function name behind an operation.
type Operation string

// The operations, with the API function each calls by default.
const (
	OpSend              Operation = "send"               // EnviarWHATSAPP
	OpTyping            Operation = "typing"             // EscribiendoWhatsapp (unverified name)
	OpMediaDownload     Operation = "media_download"     // DescargarMultimediaWhatsapp (unverified name)
	OpAccountStatus     Operation = "account_status"     // CambiarEstadoWhatsapp (unverified name)
	OpTemplates         Operation = "templates"          // GetPlantillasWhatsapp
	OpTemplateVariables Operation = "template_variables" // GetVariablesPlantillaWhatsapp
)

// DefaultEndpoint returns the API function name an operation calls unless [WithEndpoint] says
// otherwise, and false for an unknown operation. The reference does not name the functions for
// typing, media download and account status: their names here are the likeliest, unverified.
func DefaultEndpoint(op Operation) (string, bool) {
	switch op {
	case OpSend:
		return "EnviarWHATSAPP", true
	case OpTyping:
		return "EscribiendoWhatsapp", true
	case OpMediaDownload:
		return "DescargarMultimediaWhatsapp", true
	case OpAccountStatus:
		return "CambiarEstadoWhatsapp", true
	case OpTemplates:
		return "GetPlantillasWhatsapp", true
	case OpTemplateVariables:
		return "GetVariablesPlantillaWhatsapp", true
	}
	return "", false
}

// Operations lists every operation, in a fixed order.
func Operations() []Operation {
	return []Operation{OpSend, OpTyping, OpMediaDownload, OpAccountStatus, OpTemplates, OpTemplateVariables}
}

// MessageType is the wire name of a WhatsApp message type (Tipomensaje).
type MessageType string

// The ten message types the API sends.
const (
	TypeTemplate        MessageType = "PLANTILLA"
	TypeText            MessageType = "TEXTO"
	TypeImage           MessageType = "IMAGEN"
	TypeDocument        MessageType = "DOCUMENTO"
	TypeLocation        MessageType = "UBICACION"
	TypeLocationRequest MessageType = "SOLICITARUBICACION"
	TypeList            MessageType = "LISTA"
	TypeReplyButtons    MessageType = "BOTONESRESPUESTA"
	TypeReaction        MessageType = "REACCION"
	TypeCTAButton       MessageType = "BOTONESCTA"
)

// MessageTypes lists the ten message types, in the reference's order.
func MessageTypes() []MessageType {
	return []MessageType{TypeTemplate, TypeText, TypeImage, TypeDocument, TypeLocation,
		TypeLocationRequest, TypeList, TypeReplyButtons, TypeReaction, TypeCTAButton}
}

// Direction says whether a webhook event is about a message received or sent.
type Direction string

// The two directions of a webhook event (Direccion).
const (
	Inbound  Direction = "INPUT"  // a message a customer sent you
	Outbound Direction = "OUTPUT" // a status change of a message you sent
)

// Recipient is one addressee of a send (an element of Destinatarios).
type Recipient struct {
	// Phone is the number in international form, with its country prefix (Telefono). "+34 600
	// 00 00 01", "0034600000001" and "34-600-000-001" are all sent as "34600000001".
	Phone string
	// Name is the recipient's name (Nombre); optional, and the variable "Nombre" of templates
	// that use one.
	Name string
	// Email is optional (Email).
	Email string
	// ReplyTo is the id of the received message this one answers (idMensajeRespondido);
	// required for a [Reaction].
	ReplyTo int64
	// Vars are template and personalisation variables, each sent as its own field, keyed by the
	// variable's Campo as [TemplateDetails] lists it ("Variable_Cabecera_image",
	// "Valor-URL-Boton-0", ...).
	Vars map[string]string
}

// Wire names of a recipient's own fields.
const (
	fieldPhone   = "Telefono"
	fieldName    = "Nombre"
	fieldEmail   = "Email"
	fieldReplyTo = "idMensajeRespondido"
)

// NormalizePhone returns phone as the API expects it: digits only, without "+", spaces, dashes,
// dots, parentheses or a leading "00", 8 to 15 digits long (E.164 without the plus). It returns a
// *ValidationError for anything else.
func NormalizePhone(phone string) (string, error) {
	return normalizePhone("Phone", phone)
}

func normalizePhone(field, phone string) (string, error) {
	if strings.TrimSpace(phone) == "" {
		return "", invalid(field, "phone number is empty")
	}
	// Fast path: already normalised.
	if n := len(phone); n >= 8 && n <= 15 && allDigits(phone) && phone[0] != '0' {
		return phone, nil
	}
	b := make([]byte, 0, len(phone))
	for i, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r == '+' && len(b) == 0 && strings.TrimSpace(phone[:i]) == "":
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\t' || r == '\u00a0':
		default:
			return "", invalid(field, "phone number %q contains %q; use digits with the country prefix, like 34600000001", phone, r)
		}
	}
	if len(b) >= 2 && b[0] == '0' && b[1] == '0' {
		b = b[2:]
	}
	if len(b) < 8 || len(b) > 15 {
		return "", invalid(field, "phone number %q has %d digits; want 8 to 15 including the country prefix, like 34600000001", phone, len(b))
	}
	if b[0] == '0' {
		return "", invalid(field, "phone number %q must start with the country prefix, like 34600000001", phone)
	}
	return string(b), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkLen fails when s has more than max characters (runes, as WhatsApp counts them).
func checkLen(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "has %d characters; WhatsApp allows at most %d", n, max)
	}
	return nil
}

// checkRequired fails when s is empty or only white space, or longer than max characters.
func checkRequired(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "is required")
	}
	return checkLen(field, s, max)
}

// checkURL fails unless s is an absolute http or https URL with a host.
func checkURL(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "URL is required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field, "%q is not an absolute http(s) URL", s)
	}
	return nil
}
