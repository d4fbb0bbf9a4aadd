package cli

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
)

// ReplaceCSV replaces the file at path with the rows write writes, through a temporary file
// beside it that is synced and renamed, so a crash never leaves it half written.
func ReplaceCSV(path string, write func(w *csv.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return &LocalError{Err: err}
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	bw := bufio.NewWriterSize(tmp, 64<<10)
	w := csv.NewWriter(bw)
	err = write(w)
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return &LocalError{Err: err}
	}
	return nil
}
