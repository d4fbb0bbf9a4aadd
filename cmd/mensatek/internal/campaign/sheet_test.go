package campaign

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHeaderKey(t *testing.T) {
	for _, h := range []string{"Teléfono", " TELÉFONO ", "telefono", "\ufeffTelefono", "Tele\u0301fono", "Telefono\u00a0"} {
		assert.Equal(t, "telefono", headerKey(h), "%q", h)
	}
	header := []string{"Nombre", "Móvil"}
	assert.Equal(t, 1, findColumn(header, phoneHeaders))
	for _, alias := range []string{"Movil", "Celular", "Phone", "Mobile", "Teléfono"} {
		assert.Equal(t, 0, findColumn([]string{alias}, phoneHeaders), alias)
	}
	assert.Equal(t, 0, findColumn([]string{"NAME"}, nameHeaders))
}
