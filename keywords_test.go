package mensatek_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

const (
	out  = mensatek.ConsentOptedOut
	in   = mensatek.ConsentOptedIn
	none = mensatek.ConsentNone
)

// What customers really write, both ways, read end to end: delivered to a handler with a
// contact store, each from its own phone, checked in the event and in the store.
func TestConsentFromRealMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text   string
		want   mensatek.ConsentChange
		source string // checked when set
	}{
		// Spanish opt-outs: whole keywords, as before.
		{"BAJA", out, "keyword:BAJA"},
		{"baja", out, "keyword:BAJA"},
		{"Baja.", out, "keyword:BAJA"},
		{"  ¡Baja!  ", out, ""},
		{"BAJA 🙏", out, ""},
		{"bája", out, ""},
		{"Cancelar", out, "keyword:CANCELAR"},
		{"darse de baja", out, "keyword:DARSE DE BAJA"},
		{"Darse  de\tBAJA.", out, ""},
		// A keyword between courtesy words.
		{"Baja por favor", out, "keyword:BAJA"},
		{"Por favor, baja", out, "keyword:BAJA"},
		{"BAJA ya mismo por favor", out, "keyword:BAJA"},
		{"Hola, baja. Gracias", out, "keyword:BAJA"},
		{"Buenas tardes. BAJA", out, "keyword:BAJA"},
		// Opt-out phrases in short messages.
		{"DARME DE BAJA", out, "phrase:DARME DE BAJA"},
		{"quiero darme de baja", out, "phrase:DARME DE BAJA"},
		{"Quiero darme de baja, gracias", out, ""},
		{"No, quiero darme de baja", out, "phrase:DARME DE BAJA"},
		{"Hola buenas tardes, por favor quiero darme de baja de sus mensajes", out, ""},
		{"No quiero recibir más mensajes", out, "phrase:NO QUIERO RECIBIR MAS MENSAJES"},
		{"no quiero recibir mas mensajes!!", out, ""},
		{"Ya no quiero recibir más mensajes, gracias", out, ""},
		{"No no, no quiero recibir más mensajes", out, ""},
		{"Dadme de baja", out, "phrase:DADME DE BAJA"},
		{"Denme de baja por favor", out, ""},
		{"Por favor me dan de baja", out, ""},
		{"¿Cómo me doy de baja?", out, "phrase:ME DOY DE BAJA"},
		{"Quiero la baja", out, "phrase:QUIERO LA BAJA"},
		{"Solicito la baja del servicio", out, ""},
		{"Quiero que me deis de baja", out, ""},
		{"No me enviéis más mensajes", out, ""},
		{"No me manden más mensajes por favor", out, ""},
		{"Dejen de enviarme mensajes", out, ""},
		{"Dejad de escribirme", out, ""},
		{"No más mensajes", out, ""},
		{"No quiero más publicidad", out, ""},
		{"Cancelar suscripción", out, ""},
		{"Quiero cancelar mi suscripción", out, ""},
		{"Borradme de la lista", out, ""},
		{"Detener promociones", out, ""},
		// English opt-outs.
		{"STOP", out, "keyword:STOP"},
		{"stop please", out, "keyword:STOP"},
		{"Please stop", out, "keyword:STOP"},
		{"STOP NOW!", out, "keyword:STOP"},
		{"unsubscribe", out, "keyword:UNSUBSCRIBE"},
		{"unsubscribe me", out, "phrase:UNSUBSCRIBE"},
		{"Unsubscribe me please", out, ""},
		{"How do I unsubscribe?", out, ""},
		{"Stop sending me messages", out, "phrase:STOP SENDING"},
		{"Please stop messaging me", out, ""},
		{"Don't message me again", out, "phrase:DONT MESSAGE ME"},
		{"Remove me from your list", out, ""},
		{"Opt out", out, ""},
		{"I want to opt out", out, ""},
		{"No more messages please", out, ""},
		{"Stop promotions", out, "phrase:STOP PROMOTIONS"},

		// Not opt-outs: "baja" in another sense, negations, long messages, other words.
		{"mi madre está de baja médica y no podrá ir a la cita del martes, ¿podemos cambiarla?", none, ""},
		{"Mi madre está de baja", none, ""},
		{"Estoy de baja hasta el lunes", none, ""},
		{"La baja médica me la dieron ayer", none, ""},
		{"Baja la música", none, ""},
		{"no me des de baja", none, ""},
		{"No me deis de baja, por favor", none, ""},
		{"Por favor no me den de baja", none, ""},
		{"no quiero la baja", none, ""},
		{"No quiero darme de baja", none, ""},
		{"No quiero que me deis de baja", none, ""},
		{"Quiero dar de baja la línea de mi hijo", none, ""},
		{"Hola, ayer intenté darme de baja de la newsletter pero sigo recibiendo correos, ¿me ayudáis con el pedido 1234?", none, ""},
		{"bajamos a las 5", none, ""},
		{"Bajo en la siguiente parada", none, ""},
		{"¿y mi pedido?", none, ""},
		{"", none, ""},
		{"🙏", none, ""},
		{"stopped", none, ""},
		{"The bus stop is closed", none, ""},
		{"Can you stop by the shop tomorrow?", none, ""},
		{"I don't want to unsubscribe", none, ""},
		{"Please don't stop sending me offers", none, ""},
		{"Cancel my order", none, ""},
		{"Cancelar la cita del martes", none, ""},

		// Opt-ins.
		{"ALTA", in, "keyword:ALTA"},
		{"alta.", in, ""},
		{"Start", in, "keyword:START"},
		{"¡Álta!", in, ""},
		{"Alta por favor", in, "keyword:ALTA"},
		{"start please", in, ""},
		{"Quiero darme de alta", in, "phrase:DARME DE ALTA"},
		{"Dadme de alta, gracias", in, ""},
		// Not opt-ins.
		{"No quiero darme de alta", none, ""},
		{"Alta velocidad", none, ""},
		{"Tengo la tensión alta", none, ""},
		{"I did not opt in to this", none, ""},
		{"Quiero volver a recibir ofertas", none, ""}, // opt-ins are read only when explicit
	}
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store)
	for i, tt := range tests {
		phone := fmt.Sprintf("346%08d", i+1)
		status, ev := rc.deliver(t, mensatektest.InboundText(int64(i+1), phone, tt.text))
		require.Equal(t, http.StatusOK, status, tt.text)
		require.NotNil(t, ev, tt.text)
		assert.Equal(t, tt.want, ev.Consent, "%q", tt.text)
		got, err := store.Contacts(context.Background(), []string{phone})
		require.NoError(t, err)
		c := got[phone]
		assert.Equal(t, tt.want == out, c.OptedOut, "%q: the store's opt-out", tt.text)
		assert.Equal(t, tt.want != none, !c.ConsentAt.IsZero(), "%q: a consent change recorded", tt.text)
		if tt.source != "" {
			assert.Equal(t, tt.source, c.ConsentSource, "%q", tt.text)
		}
	}
}

// Buttons: a template's quick reply, a reply button or a list row opts out when its payload
// (or ID) or its text (or title) is an opt-out keyword or phrase. "Cancelar" alone on a button
// usually cancels something else (an appointment), so a button reading only that does not.
func TestConsentFromButtons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		w      func(id int64, phone string) mensatektest.Webhook
		want   mensatek.ConsentChange
		source string
	}{
		{"template payload STOP", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "STOP", "Stop promotions")
		}, out, "button:STOP"},
		{"template payload BAJA", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "BAJA", "No quiero más ofertas")
		}, out, "button:BAJA"},
		{"template text only", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "unsub-2026-11", "Darme de baja")
		}, out, "button:DARME DE BAJA"},
		{"template text, Meta's marketing opt-out", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "", "Detener promociones")
		}, out, "button:DETENER PROMOCIONES"},
		{"template payload ALTA", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "ALTA", "Quiero ofertas")
		}, in, "button:ALTA"},
		{"template confirm", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "CONFIRM", "Confirmar cita")
		}, none, ""},
		{"template Cancelar", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundTemplateButton(id, p, "CANCELAR", "Cancelar")
		}, none, ""},
		{"reply button id baja", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundButtonReply(id, p, "baja", "No quiero más mensajes")
		}, out, "button:BAJA"},
		{"reply button title", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundButtonReply(id, p, "opt-1", "Unsubscribe")
		}, out, "button:UNSUBSCRIBE"},
		{"list row", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundListReply(id, p, "row-stop", "Stop", "no more offers")
		}, out, "button:STOP"},
		{"reply button other", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundButtonReply(id, p, "track", "Seguir mi pedido")
		}, none, ""},
		{"a caption is not read", func(id int64, p string) mensatektest.Webhook {
			return mensatektest.InboundImage(id, p, "media-1", "image/jpeg", "BAJA")
		}, none, ""},
	}
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store)
	for i, tt := range tests {
		phone := fmt.Sprintf("347%08d", i+1)
		status, ev := rc.deliver(t, tt.w(int64(i+1), phone))
		require.Equal(t, http.StatusOK, status, tt.name)
		require.NotNil(t, ev, tt.name)
		assert.Equal(t, tt.want, ev.Consent, tt.name)
		got, err := store.Contacts(context.Background(), []string{phone})
		require.NoError(t, err)
		assert.Equal(t, tt.want == out, got[phone].OptedOut, tt.name)
		assert.Equal(t, tt.source, got[phone].ConsentSource, tt.name)
	}
}

// Keywords given with WithWebhookConsentKeywords match whole or between courtesy words; the
// opt-out phrases still apply, and an empty opt-out list turns opt-out reading off entirely.
func TestConsentPhrasesWithOwnKeywords(t *testing.T) {
	t.Parallel()
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store, mensatek.WithWebhookConsentKeywords([]string{"FIN"}, []string{"VOLVER"}))
	for i, tt := range []struct {
		text string
		want mensatek.ConsentChange
	}{
		{"Fin, gracias", out},
		{"quiero darme de baja", out},
		{"BAJA", none},
		{"Volver por favor", in},
		{"ALTA", none},
	} {
		_, ev := rc.deliver(t, mensatektest.InboundText(int64(i+1), fmt.Sprintf("346%08d", i+1), tt.text))
		require.NotNil(t, ev, tt.text)
		assert.Equal(t, tt.want, ev.Consent, tt.text)
	}

	off := newConsentReceiver(t, store, mensatek.WithWebhookConsentKeywords(nil, nil))
	for i, text := range []string{"quiero darme de baja", "STOP", "Quiero darme de alta"} {
		_, ev := off.deliver(t, mensatektest.InboundText(int64(100+i), "34699999999", text))
		require.NotNil(t, ev, text)
		assert.Equal(t, none, ev.Consent, text)
	}
	_, ev := off.deliver(t, mensatektest.InboundTemplateButton(200, "34699999999", "STOP", "Stop promotions"))
	require.NotNil(t, ev)
	assert.Equal(t, none, ev.Consent)
}

func TestFoldAccent(t *testing.T) {
	t.Parallel()
	if got := mensatek.NormalizeKeyword("ÁàÂäÃå ÉèÊë ÍìÎï ÓòÔöÕ ÚùÛü Çç Ññ"); got != "AAAAAA EEEE IIII OOOOO UUUU CC NN" {
		t.Errorf("normalizeKeyword folded to %q", got)
	}
}

// Reading consent costs time linear in the text: compare ns/op of the sizes
// (go test -run - -bench ReadConsent).
func BenchmarkReadConsent(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		words := strings.Repeat("baja de baja ", size/13+1)[:size]
		oneWord := strings.Repeat("b", size)
		for name, text := range map[string]string{"words": words, "one-word": oneWord} {
			m := &mensatek.InboundMessage{Type: mensatek.InboundTypeText, Text: text}
			b.Run(fmt.Sprintf("%s/%d", name, size), func(b *testing.B) {
				b.SetBytes(int64(size))
				for i := 0; i < b.N; i++ {
					mensatek.ReadConsent(m)
				}
			})
		}
	}
}
