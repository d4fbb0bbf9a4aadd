package batch

import (
	"errors"
	"reflect"
	"testing"
)

func TestDistinct(t *testing.T) {
	var got [][]string
	err := Distinct([]string{"a", "b", "a", "c", "d", "b", "e"}, 2, func(b []string) error {
		got = append(got, append([]string(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	calls := 0
	if err := Distinct(nil, 10, func([]string) error { calls++; return nil }); err != nil || calls != 0 {
		t.Fatalf("an empty list: %d calls, %v", calls, err)
	}
	boom := errors.New("boom")
	calls = 0
	if err := Distinct([]string{"a", "b", "c"}, 1, func([]string) error { calls++; return boom }); err != boom || calls != 1 {
		t.Fatalf("stops at the first error: %d calls, %v", calls, err)
	}
}
