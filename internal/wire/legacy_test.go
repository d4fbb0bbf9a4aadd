// Tests of legacy.go: TO BE DELETED with it.
package wire

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldsIgnoreCase(t *testing.T) {
	f, err := Object([]byte(`{"RES":"5","cred":"1,5","IdMensaje":"77","ERROR":"x"}`))
	require.NoError(t, err)

	res, ok, err := f.Int("Res")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 5, res)

	cred, ok, err := f.Float("CRED")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1.5, cred)

	id, ok, err := f.Int("idMensaje", "Msgid")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 77, id)

	msg, ok := f.String("error")
	assert.True(t, ok)
	assert.Equal(t, "x", msg)

	_, ok = f.String("Missing")
	assert.False(t, ok)
}

func TestFieldsFirstNamePresentWins(t *testing.T) {
	f, err := Object([]byte(`{"Msgid":"2","idMensaje":null,"IdMensaje2":"3"}`))
	require.NoError(t, err)
	// idMensaje is null, so the next name is used.
	id, ok, err := f.Int("idMensaje", "Msgid")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 2, id)
}

// A key repeated in another case keeps its first value, whatever the order Go's maps iterate in.
func TestFieldsDuplicateKeyKeepsFirst(t *testing.T) {
	for i := 0; i < 50; i++ {
		f, err := DecodeObject([]byte(`{"Res":"1","RES":"2","rEs":"3","res":"4"}`))
		require.NoError(t, err)
		got, _ := f.String("res")
		require.Equal(t, "1", got, "iteration %d", i)
		assert.Len(t, f, 1)
	}
}

func TestText(t *testing.T) {
	assert.Equal(t, "hola", Text(json.RawMessage(`"hola"`)))
	assert.Equal(t, "12", Text(json.RawMessage(`12`)))
	assert.Equal(t, "true", Text(json.RawMessage(`true`)))
	assert.Equal(t, "", Text(json.RawMessage(`null`)))
	assert.Equal(t, "", Text(nil))
	assert.Equal(t, "😁 ñ", Text(json.RawMessage(`"\uD83D\uDE01 \u00f1"`)))
}
