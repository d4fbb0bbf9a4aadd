package mensatek

import (
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inbound(t *testing.T, mensaje string) *InboundMessage {
	t.Helper()
	body := url.Values{"Direccion": {"INPUT"}, "idMensaje": {"7"}, "Telefono": {"34600000001"}, "Mensaje": {mensaje}}
	ev, err := ParseWebhook(webhookRequest(t, "application/x-www-form-urlencoded", body.Encode()))
	require.NoError(t, err)
	require.NotNil(t, ev.Message)
	assert.Equal(t, mensaje, string(ev.Message.Raw), "Raw keeps Mensaje as sent")
	return ev.Message
}

func TestInboundMessageShapes(t *testing.T) {
	t.Parallel()
	t.Run("text flat and nested", func(t *testing.T) {
		assert.Equal(t, "hola 😁", inbound(t, `{"type":"text","text":"hola \uD83D\uDE01"}`).Text)
		m := inbound(t, `{"type":"text","text":{"body":"hi"},"context":{"id":"wamid.1"}}`)
		assert.Equal(t, "hi", m.Text)
		assert.Equal(t, "wamid.1", m.Context)
	})
	t.Run("media", func(t *testing.T) {
		for _, typ := range []string{"image", "document", "audio", "video", "sticker"} {
			m := inbound(t, `{"type":"`+typ+`","`+typ+`":{"id":"M1","mime_type":"x/y","caption":"look","filename":"../../etc/a.pdf","sha256":"abc","animated":true}}`)
			require.NotNil(t, m.Media, typ)
			assert.Equal(t, InboundMedia{ID: "M1", MimeType: "x/y", Caption: "look", Filename: "a.pdf", SHA256: "abc", Animated: true}, *m.Media, typ)
			assert.Equal(t, "look", m.Text)
		}
		flat := inbound(t, `{"type":"image","id":"M2","mime_type":"image/jpeg"}`)
		assert.Equal(t, "M2", flat.Media.ID)
		assert.Equal(t, "image/jpeg", flat.Media.MimeType)
	})
	t.Run("location", func(t *testing.T) {
		m := inbound(t, `{"type":"location","location":{"latitude":"40,4168","longitude":-3.7038,"name":"Sol","address":"Madrid"}}`)
		assert.Equal(t, InboundLocation{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol", Address: "Madrid"}, *m.Location)
		flat := inbound(t, `{"type":"location","latitude":1.5,"longitude":2.5}`)
		assert.Equal(t, 1.5, flat.Location.Latitude)
	})
	t.Run("contacts", func(t *testing.T) {
		m := inbound(t, `{"type":"contacts","contacts":[{"name":{"formatted_name":"Ana Ruiz"},"phones":[{"phone":"+34 600 1","wa_id":"346001"}],"emails":[{"email":"a@b.c"}]}]}`)
		require.Len(t, m.Contacts, 1)
		assert.Equal(t, "Ana Ruiz", m.Contacts[0].Name)
		assert.Equal(t, []string{"+34 600 1"}, m.Contacts[0].Phones)
		assert.Equal(t, []string{"a@b.c"}, m.Contacts[0].Emails)
	})
	t.Run("button and list replies", func(t *testing.T) {
		m := inbound(t, `{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Sí"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "yes", Title: "Sí"}, *m.Reply)
		assert.Equal(t, "Sí", m.Text)
		m = inbound(t, `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r2","title":"Two","description":"d"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "list_reply", ID: "r2", Title: "Two", Description: "d"}, *m.Reply)
		m = inbound(t, `{"type":"button_reply","id":"no","title":"No"}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "no", Title: "No"}, *m.Reply)
		m = inbound(t, `{"type":"interactive","interactive":{"button_reply":{"id":"y2","title":"Y"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "y2", Title: "Y"}, *m.Reply, "kind from the object present")
	})
	t.Run("interactive without a reply object is no reply", func(t *testing.T) {
		for _, raw := range []string{
			// What WhatsApp sends for an interactive message it cannot show.
			`{"type":"interactive","id":"wamid.ABC","errors":[{"code":131051,"title":"Message type unknown"}]}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":null}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"button_reply"}}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"list_reply","list_reply":"r1"}}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"product_reply","id":"p"}}`,
		} {
			m := inbound(t, raw)
			assert.Equal(t, InboundTypeInteractive, m.Type, raw)
			assert.Nil(t, m.Reply, raw)
			assert.Nil(t, m.Flow, raw)
			assert.JSONEq(t, raw, string(m.Raw))
		}
	})
	t.Run("flow completion", func(t *testing.T) {
		m := inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent",`+
			`"response_json":"{\"flow_token\":\"T1\",\"fecha\":\"2026-12-01\"}"}}}`)
		assert.Nil(t, m.Reply)
		require.NotNil(t, m.Flow)
		assert.Equal(t, "flow", m.Flow.Name)
		assert.Equal(t, "Sent", m.Flow.Body)
		assert.JSONEq(t, `{"flow_token":"T1","fecha":"2026-12-01"}`, string(m.Flow.ResponseJSON))
		assert.Equal(t, "Sent", m.Text)
		// response_json as an object is read too; broken JSON gives nil, never an error.
		m = inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","response_json":{"a":1}}}}`)
		assert.JSONEq(t, `{"a":1}`, string(m.Flow.ResponseJSON))
		m = inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","response_json":"{broken"}}}`)
		require.NotNil(t, m.Flow)
		assert.Nil(t, m.Flow.ResponseJSON)
	})
	t.Run("template button", func(t *testing.T) {
		m := inbound(t, `{"type":"button","button":{"payload":"STOP","text":"Stop promotions"}}`)
		assert.Equal(t, TemplateButtonReply{Payload: "STOP", Text: "Stop promotions"}, *m.Button)
	})
	t.Run("reaction", func(t *testing.T) {
		m := inbound(t, `{"type":"reaction","reaction":{"message_id":"wamid.9","emoji":"\uD83D\uDC4D"}}`)
		assert.Equal(t, InboundReaction{Emoji: "👍", MessageID: "wamid.9"}, *m.Reaction)
		m = inbound(t, `{"type":"reaction","emoji":"❤️","message_id":"wamid.8"}`)
		assert.Equal(t, "❤️", m.Reaction.Emoji)
	})
	t.Run("unknown type is delivered", func(t *testing.T) {
		m := inbound(t, `{"type":"order","order":{"catalog_id":"1"},"text":"see order"}`)
		assert.Equal(t, InboundType("order"), m.Type, "an unknown type is kept")
		assert.Equal(t, "see order", m.Text)
	})
	t.Run("plain text Mensaje", func(t *testing.T) {
		body := url.Values{"Direccion": {"INPUT"}, "Tipo": {"text"}, "Mensaje": {"just words {"}}
		ev, err := ParseWebhook(webhookRequest(t, "application/x-www-form-urlencoded", body.Encode()))
		require.NoError(t, err)
		assert.Equal(t, InboundTypeText, ev.Message.Type)
		assert.Equal(t, "just words {", ev.Message.Text)
	})
	t.Run("Mensaje as a JSON object", func(t *testing.T) {
		ev, err := ParseWebhook(webhookRequest(t, "application/json", `{"Direccion":"INPUT","Mensaje":{"type":"text","text":"obj"}}`))
		require.NoError(t, err)
		assert.Equal(t, "obj", ev.Message.Text)
	})
}

// Mensaje values that are not a message object still give an event, never an error or a panic.
func TestInboundOddMensaje(t *testing.T) {
	t.Parallel()
	parse := func(body string) *Event {
		t.Helper()
		ev, err := ParseWebhook(webhookRequest(t, "application/json", body))
		require.NoError(t, err, body)
		return ev
	}
	assert.Nil(t, parse(`{"Direccion":"INPUT","Mensaje":"  "}`).Message, "blank")
	assert.Nil(t, parse(`{"Direccion":"INPUT","Mensaje":null}`).Message, "null")

	m := parse(`{"Direccion":"INPUT","Tipo":"text","Mensaje":12}`).Message
	assert.Equal(t, &InboundMessage{Type: "text", Text: "12", Raw: json.RawMessage(`12`)}, m)

	m = parse(`{"Direccion":"INPUT","Mensaje":"{\"type\":\"text\",\"text\":"}`).Message
	assert.Equal(t, InboundTypeText, m.Type, "JSON that cannot be read is delivered as text")
	assert.Equal(t, `{"type":"text","text":`, m.Text)

	m = parse(`{"Direccion":"INPUT","Tipo":"image","Mensaje":{"id":"M3","mimetype":"image/png","file_name":"a/b.png","voice":"1"}}`).Message
	assert.Equal(t, InboundMedia{ID: "M3", MimeType: "image/png", Filename: "b.png", Voice: true}, *m.Media, "flat, other spellings; type from Tipo")

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"voice","voice":{"media_id":"V1"}}}`).Message
	assert.Equal(t, "V1", m.Media.ID)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"location","lat":"1,5","lng":2}}`).Message
	assert.Equal(t, InboundLocation{Latitude: 1.5, Longitude: 2}, *m.Location)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"contacts","contacts":[{"name":"Ana","phones":["600",{"wa_id":"34600"},""],"emails":"none"},7]}}`).Message
	require.Len(t, m.Contacts, 2)
	assert.Equal(t, "Ana", m.Contacts[0].Name)
	assert.Equal(t, []string{"600", "34600"}, m.Contacts[0].Phones)
	assert.Nil(t, m.Contacts[0].Emails, "a list that is not a list is none")
	assert.Equal(t, InboundContact{Raw: json.RawMessage(`7`)}, m.Contacts[1], "a card that is not an object keeps Raw")

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"list_reply","list_reply":{"id":"r","title":"T"}}}`).Message
	assert.Equal(t, InteractiveReply{Kind: ReplyKindList, ID: "r", Title: "T"}, *m.Reply)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"sticker","text":{"body":"x"},"context":{"message_id":"wamid.2"}}}`).Message
	assert.Equal(t, "wamid.2", m.Context)
	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"poll","text":{"body":"q?"}}}`).Message
	assert.Equal(t, "q?", m.Text, "an unknown type's nested text")
}

// A shared-contacts message of more cards than anyone shares, or a card of more phones or
// emails, is delivered with Raw but without the typed parts, which decoding would make cost
// hundreds of megabytes for a 1 MiB body; within the bound, every card is decoded.
func TestInboundContactsAreBounded(t *testing.T) {
	cards := func(n int, card string) string {
		return `{"Direccion":"INPUT","Tipo":"contacts","Mensaje":{"type":"contacts","contacts":[` +
			strings.TrimSuffix(strings.Repeat(card+",", n), ",") + `]}}`
	}
	phones := func(n int) string {
		return `{"name":"Ana","phones":[` + strings.TrimSuffix(strings.Repeat(`"34600000001",`, n), ",") + `]}`
	}
	ev, err := ParseWebhookBody("application/json", []byte(cards(maxInboundItems, phones(maxInboundItems))))
	require.NoError(t, err)
	require.Len(t, ev.Message.Contacts, maxInboundItems)
	assert.Len(t, ev.Message.Contacts[0].Phones, maxInboundItems)

	ev, err = ParseWebhookBody("application/json", []byte(cards(maxInboundItems+1, `{"name":"Ana"}`)))
	require.NoError(t, err)
	assert.Equal(t, InboundTypeContacts, ev.Message.Type)
	assert.Equal(t, 0, len(ev.Message.Contacts), "cards decoded")
	assert.Contains(t, string(ev.Message.Raw), `{"name":"Ana"}`)

	ev, err = ParseWebhookBody("application/json", []byte(cards(1, phones(maxInboundItems+1))))
	require.NoError(t, err)
	require.Len(t, ev.Message.Contacts, 1)
	assert.Equal(t, "Ana", ev.Message.Contacts[0].Name)
	assert.Equal(t, 0, len(ev.Message.Contacts[0].Phones), "phones decoded")

	// Not parallel, so that other tests' allocations are not counted. A 1 MiB body took 320 MB
	// (cards) and 63 MB (phones).
	n := (DefaultWebhookMaxBodyBytes - 200) / 3
	for name, body := range map[string]string{"cards": cards(n, "{}"), "phones": cards(1, `{"phones":[`+strings.TrimSuffix(strings.Repeat(`"1",`, n*3/4), ",")+`]}`)} {
		b := []byte(body)
		require.Less(t, len(b), DefaultWebhookMaxBodyBytes)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ParseWebhookBody("application/json", b)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), name) // about 4 and 7 MB now
	}
}
