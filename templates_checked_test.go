package mensatek

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSendCheckedCachesTemplates(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		res, err := ts.client.SendChecked(ctx, SendRequest{To: []Recipient{goodRecipient("34600000001")}, Message: Template{Name: "customer_welcome"}})
		require.NoError(t, err)
		assert.EqualValues(t, i+1, res.MessageID)
	}
	_, err := ts.client.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000002"), goodRecipient("34600000003"))
	require.NoError(t, err)
	_, err = ts.client.SendChecked(ctx, SendRequest{To: []Recipient{goodRecipient("34600000001")}, Message: &Template{Name: "customer_welcome"}})
	require.NoError(t, err)
	assert.Equal(t, [3]int64{1, 1, 5}, ts.counts(), "lists, variables, sends")

	sent := decodeSend(t, ts.sent.last(t))
	assert.Equal(t, "PLANTILLA", sent.Body["Tipomensaje"])
	assert.Equal(t, map[string]any{"Plantilla": "customer_welcome"}, sent.Data)
	assert.Equal(t, "https://cdn.example.com/banner.jpg", sent.To[0]["Variable_Cabecera_image"])

	ts.client.ForgetTemplates()
	_, err = ts.client.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000001"))
	require.NoError(t, err)
	assert.Equal(t, [3]int64{2, 2, 6}, ts.counts(), "after ForgetTemplates")
}

func TestSendCheckedWithoutCache(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{0, time.Nanosecond} {
		t.Run(ttl.String(), func(t *testing.T) {
			ts := newTemplateServer(t, WithTemplateCacheTTL(ttl))
			for i := 0; i < 3; i++ {
				_, err := ts.client.SendTemplateChecked(context.Background(), "customer_welcome", goodRecipient("34600000001"))
				require.NoError(t, err)
			}
			assert.Equal(t, [3]int64{3, 3, 3}, ts.counts(), "lists, variables, sends")
		})
	}
}

func TestSendCheckedRefusesBadCampaigns(t *testing.T) {
	t.Parallel()
	missing := goodRecipient("34600000002")
	delete(missing.Vars, "Valor-URL-Boton-0")
	tests := []struct {
		name      string
		req       SendRequest
		wantField string
	}{
		{"a recipient misses a variable", SendRequest{To: []Recipient{goodRecipient("34600000001"), missing}, Message: Template{Name: "customer_welcome"}}, "To[1].Vars[Valor-URL-Boton-0]"},
		{"a line break in a name", SendRequest{To: []Recipient{goodRecipient("34600000001"), func() Recipient {
			r := goodRecipient("34600000002")
			r.Name = "Ana\r\nGarcía"
			return r
		}()}, Message: Template{Name: "customer_welcome"}}, "To[1].Name"},
		{"bad phone, found before any request", SendRequest{To: []Recipient{{Phone: "1"}}, Message: Template{Name: "customer_welcome"}}, "To[0].Phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTemplateServer(t)
			res, err := ts.client.SendChecked(context.Background(), tt.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.wantField, ve.Field, "error: %v", err)
			var problems ValidationErrors
			require.ErrorAs(t, err, &problems, "every checked-send mistake comes as ValidationErrors")
			assert.Zero(t, ts.sends.Load(), "a send left")
		})
	}

	for _, tt := range []struct {
		name, template string
		is             error
		status         TemplateStatus
	}{
		{"unknown template", "no_such_template", ErrTemplateNotFound, ""},
		{"template name in another case", "Customer_Welcome", ErrTemplateNotFound, ""},
		{"template not approved", "appointment_reminder", ErrTemplateNotApproved, TemplateStatusPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTemplateServer(t)
			res, err := ts.client.SendChecked(context.Background(), SendRequest{To: []Recipient{{Phone: "34600000001"}}, Message: Template{Name: tt.template}})
			assert.Nil(t, res)
			require.ErrorIs(t, err, tt.is)
			var te *TemplateError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.template, te.Name)
			assert.Equal(t, tt.status, te.Status)
			var ve *ValidationError
			assert.False(t, errors.As(err, &ve), "learned from the server: not a ValidationError")
			assert.Zero(t, ts.sends.Load(), "a send left")
		})
	}

	t.Run("unknown template lists the names there are", func(t *testing.T) {
		ts := newTemplateServer(t)
		_, err := ts.client.SendTemplateChecked(context.Background(), "no_such_template", goodRecipient("34600000001"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "appointment_reminder, customer_welcome")
		assert.Equal(t, [3]int64{1, 0, 0}, ts.counts())
	})
}

func TestSendCheckedOtherTypesSkipTemplates(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	_, err := ts.client.SendChecked(context.Background(), SendRequest{To: one, Message: Text{Body: "hola"}})
	require.NoError(t, err)
	assert.Equal(t, [3]int64{0, 0, 1}, ts.counts())
}

func TestSendCheckedTemplateListError(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`)
	_, err := fx.client.SendTemplateChecked(context.Background(), "customer_welcome", goodRecipient("34600000001"))
	assert.ErrorIs(t, err, ErrAuthentication)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, OpTemplates, apiErr.Operation)
	assert.EqualValues(t, 1, fx.hits.Load())
}

// Many goroutines sending checked templates through one client (run with -race).
func TestSendCheckedConcurrent(t *testing.T) {
	t.Parallel()
	const n = 32
	ts := newTemplateServer(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := goodRecipient(fmt.Sprintf("346000%05d", i))
			var err error
			switch i % 3 {
			case 0:
				_, err = ts.client.SendTemplateChecked(context.Background(), "customer_welcome", r)
			case 1:
				_, err = ts.client.SendChecked(context.Background(), SendRequest{To: []Recipient{r}, Message: Template{Name: "customer_welcome"}})
			default:
				_, err = ts.client.TemplateByName(context.Background(), "customer_welcome")
				if err == nil {
					_, err = ts.client.SendTemplate(context.Background(), "customer_welcome", r)
				}
			}
			if i == n/2 {
				ts.client.ForgetTemplates()
			}
			errs <- err
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.EqualValues(t, n, ts.sends.Load())
	assert.LessOrEqual(t, ts.lists.Load(), int64(n))
	assert.GreaterOrEqual(t, ts.lists.Load(), int64(1))
}

// A variable given by its display name is sent under its Campo, on a copy of the request.
func TestSendCheckedSendsDisplayNamesUnderTheirCampo(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	byName := goodRecipient("34600000002")
	delete(byName.Vars, "Valor-URL-Boton-0")
	byName.Vars["Producto"] = "https://shop.example.com/p/2"
	byField := goodRecipient("34600000001")
	to := []Recipient{byField, byName}
	_, err := ts.client.SendChecked(context.Background(), SendRequest{To: to, Message: Template{Name: "customer_welcome"}})
	require.NoError(t, err)

	sent := decodeSend(t, ts.sent.last(t))
	require.Len(t, sent.To, 2)
	assert.Equal(t, "https://shop.example.com/offer/REF1", sent.To[0]["Valor-URL-Boton-0"])
	assert.Equal(t, "https://shop.example.com/p/2", sent.To[1]["Valor-URL-Boton-0"])
	assert.NotContains(t, sent.To[1], "Producto", "the display name is unknown to the API")

	// The caller's request is left as it was.
	assert.Equal(t, map[string]string{"Variable_Cabecera_image": "https://cdn.example.com/banner.jpg", "Producto": "https://shop.example.com/p/2"}, to[1].Vars)
	assert.Equal(t, "34600000002", to[1].Phone)
}

// A checked send with an unknown key sends nothing.
func TestSendCheckedRefusesUnknownVariables(t *testing.T) {
	t.Parallel()
	ts := newTemplateServer(t)
	r := goodRecipient("34600000001")
	r.Vars["Cupon"] = "AB12"
	_, err := ts.client.SendTemplateChecked(context.Background(), "customer_welcome", goodRecipient("34600000002"), r)
	fields, _ := problemsOf(t, err)
	assert.Equal(t, []string{"To[1].Vars[Cupon]"}, fields)
	assert.Zero(t, ts.sends.Load(), "a send left")
}
