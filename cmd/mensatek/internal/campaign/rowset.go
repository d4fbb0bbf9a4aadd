package campaign

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// RowSet is a set of row numbers kept as a bitmap: a bit a row, so a million rows take 125 KB
// however they are spread. Its JSON is its count and its rows as compact ranges:
// {"count": 19999, "rows": "2-5000,5002-20001"}. The zero value is empty and ready to use.
type RowSet struct {
	words []uint64
	n     int
}

// Add adds row (from 1); it reports whether it was new.
func (s *RowSet) Add(row int) bool {
	if row < 0 {
		return false
	}
	w := row / 64
	if w >= len(s.words) {
		s.words = append(s.words, make([]uint64, w+1-len(s.words))...)
	}
	bit := uint64(1) << (row % 64)
	if s.words[w]&bit != 0 {
		return false
	}
	s.words[w] |= bit
	s.n++
	return true
}

// AddAll adds every row of rows.
func (s *RowSet) AddAll(rows []int) {
	for _, r := range rows {
		s.Add(r)
	}
}

// Has reports whether row is in the set.
func (s *RowSet) Has(row int) bool {
	w := row / 64
	return row >= 0 && w < len(s.words) && s.words[w]&(uint64(1)<<(row%64)) != 0
}

// Len returns how many rows the set holds.
func (s *RowSet) Len() int { return s.n }

// Each calls fn with each row in ascending order, until fn returns false.
func (s *RowSet) Each(fn func(row int) bool) {
	for i, w := range s.words {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			if !fn(i*64 + b) {
				return
			}
			w &^= 1 << b
		}
	}
}

// Ranges calls fn with each run of consecutive rows, in ascending order.
func (s *RowSet) Ranges(fn func(from, to int)) {
	from, to := -1, -1
	s.Each(func(row int) bool {
		if row == to+1 && from >= 0 {
			to = row
			return true
		}
		if from >= 0 {
			fn(from, to)
		}
		from, to = row, row
		return true
	})
	if from >= 0 {
		fn(from, to)
	}
}

// String writes the rows as compact ranges: "2-5000,5002-20001".
func (s *RowSet) String() string { return s.format(",") }

// Text writes the rows for people: "2-4, 7".
func (s *RowSet) Text() string { return s.format(", ") }

func (s *RowSet) format(sep string) string {
	var b strings.Builder
	s.Ranges(func(from, to int) {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.Itoa(from))
		if to != from {
			b.WriteString("-" + strconv.Itoa(to))
		}
	})
	return b.String()
}

// Rows lists the rows, for tests and small sets.
func (s *RowSet) Rows() []int {
	out := make([]int, 0, s.n)
	s.Each(func(row int) bool {
		out = append(out, row)
		return true
	})
	return out
}

type rowSetJSON struct {
	Count int    `json:"count"`
	Rows  string `json:"rows"`
}

// MarshalJSON writes {"count": N, "rows": "2-5,7"}.
func (s RowSet) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowSetJSON{Count: s.n, Rows: s.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *RowSet) UnmarshalJSON(b []byte) error {
	var v rowSetJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = RowSet{}
	if err := s.parse(v.Rows); err != nil {
		return err
	}
	if s.n != v.Count {
		return fmt.Errorf("row set: count %d, but %d rows in %q", v.Count, s.n, v.Rows)
	}
	return nil
}

// maxRow bounds the rows parse reads, so that a short text cannot ask for a huge bitmap.
const maxRow = 1 << 28

// parse adds the rows of compact ranges.
func (s *RowSet) parse(text string) error {
	if text == "" {
		return nil
	}
	for _, part := range strings.Split(text, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		from, err := strconv.Atoi(a)
		to := from
		if err == nil && isRange {
			to, err = strconv.Atoi(b)
		}
		if err != nil || from < 0 || to < from || to > maxRow {
			return fmt.Errorf("row set: bad range %q", part)
		}
		for r := from; r <= to; r++ {
			s.Add(r)
		}
	}
	return nil
}
