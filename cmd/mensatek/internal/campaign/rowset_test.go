package campaign

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRowSet(t *testing.T) {
	var s RowSet
	assert.Equal(t, "", s.String())
	for _, r := range []int{9, 2, 3, 4, 7, 10, 4, 64, 65, 63} {
		s.Add(r)
	}
	assert.Equal(t, 9, s.Len())
	assert.Equal(t, "2-4,7,9-10,63-65", s.String())
	assert.Equal(t, "2-4, 7, 9-10, 63-65", s.Text())
	assert.True(t, s.Has(64))
	assert.False(t, s.Has(5))
	assert.False(t, s.Has(1<<20))

	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"count": 9, "rows": "2-4,7,9-10,63-65"}`, string(b))
	var back RowSet
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s.Rows(), back.Rows())
	assert.Error(t, json.Unmarshal([]byte(`{"count":1,"rows":"2-999999999999"}`), &back))

	// A million rows in two runs: a few bytes of JSON, and a bit a row in memory.
	var big RowSet
	for r := 2; r <= 1_000_001; r++ {
		if r != 5001 {
			big.Add(r)
		}
	}
	b, err = json.Marshal(big)
	require.NoError(t, err)
	assert.JSONEq(t, `{"count": 999999, "rows": "2-5000,5002-1000001"}`, string(b))
	assert.LessOrEqual(t, cap(big.words)*8, 140_000)
}

func TestIDs(t *testing.T) {
	ids := insertID(insertID(insertID(insertID(nil, 9), 7), 8), 12)
	assert.Equal(t, IDs{7, 8, 9, 12}, ids)
	b, err := json.Marshal(ids)
	require.NoError(t, err)
	assert.Equal(t, `"7-9,12"`, string(b))
	assert.Equal(t, "7-9, 12", ids.Text())
	var back IDs
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ids, back)
}
