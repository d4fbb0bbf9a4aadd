package mensatektest

import (
	"strconv"

	"github.com/mensatek-go/mensatek"
)

// SendReply returns the body of EnviarWHATSAPP's reply to an accepted send that the client
// reads as res: idMensaje, Enviados, NoEnviados and Cred. Res, the API's success code, is
// res.Sent, or 1 when that is 0 (a Res of 0 or less is a refusal: use [ErrorReply]).
// res.Skipped is the client's own and is not in the reply.
func SendReply(res mensatek.SendResult) string {
	code := max(res.Sent, 1)
	return string(encodeReply([]kv{
		{"Res", strconv.Itoa(code)},
		{"idMensaje", strconv.FormatInt(res.MessageID, 10)},
		{"Cred", formatNumber(res.Credits)},
		{"Enviados", strconv.Itoa(res.Sent)},
		{"NoEnviados", strconv.Itoa(res.NotSent)},
	}))
}

// ResultReply returns the body of the reply of a function that returns no data (the typing
// indicator, the account status) that the client reads as res. A Code of 0 is sent as 1, the
// API's success.
func ResultReply(res mensatek.Result) string {
	return string(encodeReply([]kv{{"Res", strconv.Itoa(max(res.Code, 1))}, {"Cred", formatNumber(res.Credits)}}))
}

// ErrorReply returns the body of the API's refusal: Res code with the Error text, such as
// ErrorReply(mensatek.CodeInsufficientCredits, "Sin créditos"), which the client returns as a
// *mensatek.APIError. It serves every operation, media downloads included.
func ErrorReply(code int, message string) string {
	return string(encodeReply([]kv{{"Res", strconv.Itoa(code)}, {"Error", message}}))
}

// TemplatesReply returns the body of GetPlantillasWhatsapp's reply listing templates (none when
// none are given), in the shape [Server.AddTemplate] takes and with the same defaults: an empty
// Language is "es", Status "APPROVED", and so on; Verified follows Status. A template without an
// ID is listed under its Name as ID. [ReferenceTemplates] are the fake's own.
func TemplatesReply(templates ...mensatek.TemplateDetails) string {
	list := make([]mensatek.TemplateDetails, len(templates))
	for i, t := range templates {
		list[i] = replyTemplate(t)
	}
	return string(encodeReply(templatesFields(list)))
}

// TemplateVariablesReply returns the body of GetVariablesPlantillaWhatsapp's reply describing
// t, with the defaults of [TemplatesReply]: its variables numbered in order and the recipient's
// phone added as variable 1 when missing.
func TemplateVariablesReply(t mensatek.TemplateDetails) string {
	return string(encodeReply(variablesFields(replyTemplate(t))))
}

func replyTemplate(t mensatek.TemplateDetails) mensatek.TemplateDetails {
	t = withDefaults(t)
	if t.ID == "" {
		t.ID = t.Name
	}
	return t
}

// ReferenceTemplates returns the templates every new [Server] knows, from the reference's
// examples: customer_welcome ([CustomerWelcomeID], approved) and appointment_reminder
// ([AppointmentReminderID], pending), with their variables. Each call returns new copies.
func ReferenceTemplates() []mensatek.TemplateDetails {
	return referenceTemplates()
}
