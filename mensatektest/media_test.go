package mensatektest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
)

// A JSON file a customer sent reaches the consumer's code as the file, with or without a name,
// as the real client reads it (issue 10 item 8).
func TestMediaJSONFile(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	order := []byte(`{"pedido":1234,"lineas":[{"sku":"A-1","uds":2}]}`)
	srv.AddMediaFile(1, "34600000001", "order.json", "application/json", order)
	m, err := c.DownloadMedia(ctx, 1, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Media{ContentType: "application/json", Filename: "order.json", Data: order}, m)

	srv.AddMedia(2, "34600000001", "application/json", order)
	m, err = c.DownloadMedia(ctx, 2, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Media{ContentType: "application/json", Data: order}, m)
}
