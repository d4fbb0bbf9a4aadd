package mensatek

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The limits themselves are allowed, counted in characters, not bytes.
func TestSendValidationLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	long := strings.Repeat
	btn := func(n int) []ReplyButton {
		b := make([]ReplyButton, n)
		for i := range b {
			b[i] = ReplyButton{ID: fmt.Sprint(i), Title: long("é", 20)}
		}
		return b
	}
	var tenRows []ListRow
	for i := 0; i < 10; i++ {
		tenRows = append(tenRows, ListRow{ID: fmt.Sprint(i), Title: long("ñ", 24), Description: long("a", 72)})
	}
	okURL := "https://cdn.example.com/a.jpg"
	tests := []struct {
		name string
		msg  Message
		to   []Recipient
	}{
		{"text of 4096 ASCII", Text{Body: long("a", 4096)}, nil},
		{"text of 4096 two-byte runes", Text{Body: long("é", 4096)}, nil},
		{"text of 4096 emoji", Text{Body: long("😁", 4096)}, nil},
		{"caption of 1024", Image{URL: okURL, Caption: long("ñ", 1024)}, nil},
		{"document caption of 1024", Document{URL: okURL, Caption: long("ñ", 1024), Filename: long("a", 240)}, nil},
		{"three buttons with titles of 20", ReplyButtons{Header: long("a", 60), Body: long("ü", 1024), Footer: long("a", 60), Buttons: btn(3)}, nil},
		{"ten rows in two sections", List{Body: "x", Button: long("a", 20), Sections: []ListSection{
			{Title: long("a", 24), Rows: tenRows[:4]}, {Title: "B", Rows: tenRows[4:]},
		}}, nil},
		{"CTA at its limits", CTAButton{Header: long("a", 60), Body: long("a", 1024), Footer: long("a", 60), Text: long("é", 20), URL: okURL}, nil},
		{"location at the poles", Location{Latitude: 90, Longitude: -180}, nil},
		{"location at the other corners", Location{Latitude: -90, Longitude: 180}, nil},
		{"location request of 1024", LocationRequest{Body: long("a", 1024)}, nil},
		{"reaction with a flag", Reaction{Emoji: "🇪🇸"}, []Recipient{{Phone: "34600000001", ReplyTo: 1}}},
	}
	fx := setup(t)
	rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
	for _, tt := range tests {
		to := tt.to
		if to == nil {
			to = one
		}
		_, err := fx.client.Send(context.Background(), SendRequest{To: to, Message: tt.msg})
		assert.NoError(t, err, tt.name)
	}
	assert.Equal(t, len(tests), rec.count())
}
