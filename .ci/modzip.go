//go:build ignore

// Modzip adds one module of this repository, at one version, to a module proxy directory (the
// layout GOPROXY=file://DIR reads: MODULE/@v/list, VERSION.info, VERSION.mod, VERSION.zip), from
// a git commit or tree, the way the Go module mirror makes it from a tag: the files of
// "git archive" under the module's directory, without nested modules, vendor directories,
// .hg_archival.txt, symbolic links and other irregular files, and with the repository's LICENSE
// when the module has none (cmd/go's modfetch and golang.org/x/mod/zip do the same). The zip's
// checksum (go.sum's h1:) depends only on the names and contents of its files, so a go.sum
// written from this proxy holds the checksums the mirror will serve once the tags are pushed.
//
// It refuses what must not ship: a file over 1 MiB (a committed binary), a go.mod with a replace
// directive (go install refuses it) or that requires the workspace's placeholder version.
// Only the standard library: golang.org/x/mod/zip would be a dependency of the core module for a
// CI tool.
//
//	go run .ci/modzip.go -proxy DIR -version v0.1.0 -rev TREE-ISH -dir redisstore
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// maxFile is the largest file a module zip may hold here (the module zip format allows 500 MB
// in all): anything larger is a build output or data that does not belong in a library.
const maxFile = 1 << 20

// placeholder is the version the nested modules require their siblings at between releases; it
// is never published.
const placeholder = "v0.0.0-00010101000000-000000000000"

func main() {
	proxy := flag.String("proxy", "", "the module proxy `directory` to add the module to")
	version := flag.String("version", "", "the module `version`, e.g. v0.1.0")
	rev := flag.String("rev", "HEAD", "the git commit or tree to take the files from")
	dir := flag.String("dir", ".", "the module's `directory` in the repository")
	flag.Parse()
	if *proxy == "" || *version == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*proxy, *version, *rev, path.Clean(filepath.ToSlash(*dir))); err != nil {
		fmt.Fprintln(os.Stderr, "modzip:", err)
		os.Exit(1)
	}
}

type file struct {
	name string // relative to the module's directory
	data []byte
}

func run(proxy, version, rev, dir string) error {
	files, err := archive(rev, dir)
	if err != nil {
		return err
	}
	var gomod []byte
	for _, f := range files {
		if f.name == "go.mod" {
			gomod = f.data
		}
	}
	if gomod == nil {
		return fmt.Errorf("%s has no go.mod in %s", dir, rev)
	}
	modPath, err := checkGoMod(gomod)
	if err != nil {
		return fmt.Errorf("%s/go.mod: %w", dir, err)
	}
	var tooBig []string
	for _, f := range files {
		if len(f.data) > maxFile {
			tooBig = append(tooBig, fmt.Sprintf("%s (%d bytes)", path.Join(dir, f.name), len(f.data)))
		}
	}
	if len(tooBig) > 0 {
		return fmt.Errorf("files over 1 MiB would ship in the zip of %s: %s", modPath, strings.Join(tooBig, ", "))
	}

	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	prefix := modPath + "@" + version + "/"
	for _, f := range files {
		w, err := zw.Create(prefix + f.name)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}

	escPath, err := escape(modPath)
	if err != nil {
		return err
	}
	escVersion, err := escape(version)
	if err != nil {
		return err
	}
	vdir := filepath.Join(proxy, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	info, _ := json.Marshal(struct{ Version, Time string }{version, time.Now().UTC().Format(time.RFC3339)})
	for ext, data := range map[string][]byte{".zip": zbuf.Bytes(), ".mod": gomod, ".info": info} {
		if err := os.WriteFile(filepath.Join(vdir, escVersion+ext), data, 0o644); err != nil {
			return err
		}
	}
	list := filepath.Join(vdir, "list")
	old, err := os.ReadFile(list)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	versions := strings.Fields(string(old))
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	if err := os.WriteFile(list, []byte(strings.Join(versions, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s@%s: %d files, %d bytes zipped\n", modPath, version, len(files), zbuf.Len())
	return nil
}

// archive returns the files of module directory dir at rev as the module zip holds them.
func archive(rev, dir string) ([]file, error) {
	args := []string{"-c", "core.autocrlf=input", "-c", "core.eol=lf", "archive", "--format=zip", rev}
	if dir != "." {
		args = append(args, dir)
	}
	out, err := git(args...)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		return nil, err
	}
	prefix := ""
	if dir != "." {
		prefix = dir + "/"
	}
	type entry struct {
		name string
		f    *zip.File
	}
	var entries []entry
	nested := map[string]bool{} // directories, relative to dir, that hold another module
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		name := strings.TrimPrefix(f.Name, prefix)
		if d, base := path.Split(name); strings.EqualFold(base, "go.mod") && d != "" {
			nested[d] = true
		}
		entries = append(entries, entry{name, f})
	}
	inNested := func(name string) bool {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if nested[d+"/"] {
				return true
			}
		}
		return false
	}
	var files []file
	haveLicense := false
	for _, e := range entries {
		switch {
		case inNested(e.name), e.name == ".hg_archival.txt", !e.f.Mode().IsRegular():
			continue // not in a module zip (symbolic links are not regular)
		case e.name == "vendor" || strings.HasPrefix(e.name, "vendor/") || strings.Contains(e.name, "/vendor/"):
			return nil, fmt.Errorf("%s: vendor directories are not supported here", e.name)
		}
		rc, err := e.f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, file{e.name, data})
		haveLicense = haveLicense || e.name == "LICENSE"
	}
	if !haveLicense && dir != "." {
		if data, err := git("cat-file", "blob", rev+":LICENSE"); err == nil {
			files = append(files, file{"LICENSE", data})
		}
	}
	return files, nil
}

// checkGoMod returns the module path of a go.mod that may be published. The go command parses it.
func checkGoMod(data []byte) (string, error) {
	tmp, err := os.CreateTemp("", "modzip-*.mod")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err2 := tmp.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "mod", "edit", "-json", tmp.Name()).Output()
	if err != nil {
		return "", fmt.Errorf("go mod edit -json: %w", err)
	}
	type modVersion struct{ Path, Version string }
	var mod struct {
		Module  modVersion
		Require []modVersion
		Replace []struct{ Old, New modVersion }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", err
	}
	if len(mod.Replace) > 0 {
		return "", fmt.Errorf("a replace directive (%s): go install refuses a module with one, and its users never see it", mod.Replace[0].Old.Path)
	}
	for _, r := range mod.Require {
		if r.Version == placeholder {
			return "", fmt.Errorf("requires %s at the unpublished placeholder %s", r.Path, placeholder)
		}
	}
	if mod.Module.Path == "" {
		return "", errors.New("no module directive")
	}
	return mod.Module.Path, nil
}

// escape is the module proxy's case encoding: an upper-case letter becomes '!' and the letter.
func escape(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '!' || r >= unicode.MaxASCII:
			return "", fmt.Errorf("%q: not a module path or version this tool expects", s)
		case 'A' <= r && r <= 'Z':
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func git(args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("git", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
