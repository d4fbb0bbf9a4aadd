package main

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzReadSheet reads any file as a campaign's recipients: never a panic, and every error fits
// on one bounded line, as the command prints it.
func FuzzReadSheet(f *testing.F) {
	for _, seed := range []string{
		"Telefono,Nombre\n34600000001,Ana\n",
		"Tel\xe9fono;Nombre\r\n34600000001;Jos\xe9\r\n",
		"\xff\xfeT\x00e\x00l\x00\n\x00",
		"Telefono\tNombre\r34600000001\tAna\r",
		"\xef\xbb\xbfTelefono,\"Nom\"\"bre\"\n\"34600000001\",\"A\nna\"\n",
		"PK\x03\x04garbage", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "\x00\x01\x02", "", "Telefono\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sh, err := readSheet(path, readOptions{flag: "--file", encoding: encAuto})
		if err != nil {
			line := boundLine(oneLine(err))
			if n := utf8.RuneCountInString(line); n > maxLine+60 {
				t.Fatalf("an error line of %d characters", n)
			}
			return
		}
		for _, r := range sh.rows {
			_ = r.cells
		}
	})
}
