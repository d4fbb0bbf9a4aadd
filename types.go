package mensatek

import "github.com/mensatek-go/mensatek/internal/api"

// Operation names one of the API functions the client calls. [WithEndpoint] overrides the
// function name behind an operation.
type Operation string

// The operations, with the API function each calls by default. The reference does not name the
// functions for typing, media download and account status: their names here are the likeliest,
// unverified.
const (
	OpSend              Operation = "send"               // EnviarWHATSAPP
	OpTyping            Operation = "typing"             // EscribiendoWhatsapp (unverified name)
	OpMediaDownload     Operation = "media_download"     // DescargarMultimediaWhatsapp (unverified name)
	OpAccountStatus     Operation = "account_status"     // CambiarEstadoWhatsapp (unverified name)
	OpTemplates         Operation = "templates"          // GetPlantillasWhatsapp
	OpTemplateVariables Operation = "template_variables" // GetVariablesPlantillaWhatsapp
)

// defaultEndpoint returns the API function name an operation calls unless [WithEndpoint] says
// otherwise, and false for an unknown operation.
func defaultEndpoint(op Operation) (string, bool) { return api.DefaultFunction(string(op)) }

// operations lists every operation, in a fixed order.
func operations() []Operation {
	eps := api.Endpoints()
	ops := make([]Operation, len(eps))
	for i, e := range eps {
		ops[i] = Operation(e.Op)
	}
	return ops
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

// messageTypes lists the ten message types, in the reference's order.
func messageTypes() []MessageType {
	names := api.MessageTypes()
	types := make([]MessageType, len(names))
	for i, n := range names {
		types[i] = MessageType(n)
	}
	return types
}

// Recipient is one addressee of a send (an element of Destinatarios).
type Recipient struct {
	// Phone is the number in international form, with its country prefix (Telefono), or a
	// national number when the client has [WithDefaultRegion]. "+34 600 00 00 01",
	// "0034600000001" and "34-600-000-001" are all sent as "34600000001". It must be a valid
	// number ([NormalizePhone]), and appear once in a send.
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
