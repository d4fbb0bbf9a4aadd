package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// maxTemplatesFile bounds --templates: far more than any account's templates.
const maxTemplatesFile = 8 << 20

// templateFile is one template of a --templates file: mensatek.TemplateDetails as encoding/json
// writes it (the shape mensatektest's AddTemplate takes). Verified is a pointer, to tell a
// value that contradicts Status from one left out; the variables are decoded one by one, so an
// error names the one at fault.
type templateFile struct {
	ID              string
	Name            string
	Language        string
	Category        mensatek.TemplateCategory
	Status          mensatek.TemplateStatus
	Verified        *bool
	ParameterFormat mensatek.ParameterFormat
	Variables       []json.RawMessage
}

// readTemplates reads a --templates file: a JSON array of templates, each with the fields of
// mensatek.TemplateDetails ("ID", "Name", "Language", "Category", "Status", "ParameterFormat",
// "Variables": [{"Index", "Name", "Field", "Location", "Format", "Example"}], names in any
// case). Unknown fields, values of the wrong type, a template without a Name, a variable without
// a Field or a Name, and what a send could not tell apart (one Field twice in a template; one ID,
// or one name in one language, twice in the file) are errors naming the template and variable.
func readTemplates(flag, path string) ([]mensatek.TemplateDetails, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("reading %s: %v", flag, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTemplatesFile+1))
	if err != nil {
		return nil, usagef("reading %s: %v", flag, err)
	}
	fail := func(format string, args ...any) error {
		return invalid(flag, "%s: %s", path, fmt.Sprintf(format, args...))
	}
	if len(data) > maxTemplatesFile {
		return nil, fail("larger than %d MiB: not a templates file", maxTemplatesFile>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail("is empty: it needs a JSON array of templates, such as [{\"Name\": \"order_shipped\", \"Variables\": [{\"Field\": \"Pedido\"}]}]")
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("%s", jsonProblem(data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("holds more than one JSON value; put every template in one array")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fail("want a JSON array of templates, not %s", jsonKind(raw))
	}
	if len(list) == 0 {
		return nil, fail("holds no templates")
	}

	out := make([]mensatek.TemplateDetails, 0, len(list))
	ids := map[string]int{}
	names := map[string]int{}
	for i, rawT := range list {
		n := i + 1
		var tf templateFile
		if field, problem, ok := strictDecode(rawT, &tf); !ok {
			where := fmt.Sprintf("template %d", n)
			if field != "" {
				where += ": " + field
			}
			return nil, fail("%s: %s (a template's fields are ID, Name, Language, Category, Status, ParameterFormat, Variables)", where, problem)
		}
		if strings.TrimSpace(tf.Name) == "" {
			return nil, fail("template %d has no Name", n)
		}
		what := fmt.Sprintf("template %d (%s)", n, tf.Name)
		if tf.Verified != nil && *tf.Verified != (tf.Status == "" || strings.EqualFold(string(tf.Status), "APPROVED")) {
			status := string(tf.Status)
			if status == "" {
				status = "APPROVED (the default)"
			}
			return nil, fail("%s: Verified is %v but Status %s is not APPROVED; Verified follows Status, leave it out", what, *tf.Verified, status)
		}
		t := mensatek.TemplateDetails{TemplateInfo: mensatek.TemplateInfo{ID: strings.TrimSpace(tf.ID), Name: tf.Name, Language: tf.Language,
			Category: tf.Category, Status: tf.Status, ParameterFormat: tf.ParameterFormat}}
		fields := map[string]int{}
		for j, rawV := range tf.Variables {
			var v mensatek.TemplateVariable
			if field, problem, ok := strictDecode(rawV, &v); !ok {
				return nil, fail("%s: %s: %s (a variable's fields are Index, Name, Field, Location, Format, Example)",
					what, at(fmt.Sprintf("Variables[%d]", j), field), problem)
			}
			if strings.TrimSpace(v.Field) == "" && strings.TrimSpace(v.Name) == "" {
				return nil, fail("%s: Variables[%d] has neither a Field nor a Name: give the Campo a recipient's value is sent under", what, j)
			}
			key := v.Field
			if key == "" {
				key = v.Name
			}
			if k, ok := fields[strings.ToLower(key)]; ok {
				return nil, fail("%s: Variables[%d] and Variables[%d] have the same Field %q: a send could not tell them apart", what, k, j, key)
			}
			fields[strings.ToLower(key)] = j
			t.Variables = append(t.Variables, v)
		}
		if t.ID != "" {
			if k, ok := ids[t.ID]; ok {
				return nil, fail("templates %d and %d have the same ID %q", k, n, t.ID)
			}
			ids[t.ID] = n
		}
		lang := t.Language
		if lang == "" {
			lang = "es"
		}
		if k, ok := names[t.Name+"\x00"+strings.ToLower(lang)]; ok {
			return nil, fail("templates %d and %d are both %s in language %s", k, n, t.Name, lang)
		}
		names[t.Name+"\x00"+strings.ToLower(lang)] = n
		out = append(out, t)
	}
	return out, nil
}

// strictDecode decodes one JSON object into v, refusing fields v does not have. On failure,
// field names the member at fault ("Index"), or is "" for the object itself, and problem says
// what is wrong in a user's words.
func strictDecode(raw json.RawMessage, v any) (field, problem string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return "", "", true
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "", "want a JSON object, not " + article(typeErr.Value), false
	case errors.As(err, &typeErr):
		return typeErr.Field, fmt.Sprintf("want %s, not %s", typeName(typeErr.Type), article(typeErr.Value)), false
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "", "unknown field " + name, false
	}
	return "", strings.TrimPrefix(err.Error(), "json: "), false
}

// at names where a problem strictDecode found is: obj, or obj's member field.
func at(obj, field string) string {
	if field == "" {
		return obj
	}
	return obj + "." + field
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return "an object"
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object":
		return "an " + jsonType
	case "bool":
		return "true or false"
	}
	return "a " + jsonType
}

// jsonProblem says where data stops being JSON, by line and column.
func jsonProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		at := int(syn.Offset) - 1 // the offset is just past the byte at fault
		at = max(0, min(at, len(data)))
		line := bytes.Count(data[:at], []byte("\n")) + 1
		col := at - bytes.LastIndexByte(data[:at], '\n')
		return fmt.Sprintf("not valid JSON: %v at line %d, column %d", syn, line, col)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON: it ends early (a missing ] or })"
	}
	return "not valid JSON: " + err.Error()
}

// jsonKind names the kind of JSON value raw is, for an error.
func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object (wrap a single template in [ ])"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}
