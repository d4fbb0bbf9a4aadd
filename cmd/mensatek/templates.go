package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mensatek-go/mensatek"
)

// templateJSON is a template in --json output.
type templateJSON struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Language        string         `json:"language"`
	Category        string         `json:"category"`
	Status          string         `json:"status"`
	Verified        bool           `json:"verified"`
	ParameterFormat string         `json:"parameter_format"`
	Variables       []variableJSON `json:"variables,omitempty"`
}

type variableJSON struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Field   string `json:"field"`
	Where   string `json:"where"`
	Format  string `json:"format"`
	Example string `json:"example"`
}

func toTemplateJSON(t mensatek.TemplateInfo) templateJSON {
	return templateJSON{ID: t.ID, Name: t.Name, Language: t.Language, Category: string(t.Category),
		Status: string(t.Status), Verified: t.Verified, ParameterFormat: string(t.ParameterFormat)}
}

func runTemplates(ctx context.Context, args []string, s *sys) int {
	const name = "templates"
	fs := newFlagSet(name)
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON array")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "templates [flags]",
		about: `Lists the account's WhatsApp templates (API function GetPlantillasWhatsapp): id, name,
language, category and status. Only APPROVED templates can be sent; 'mensatek template ID'
shows the variables a template needs.`,
		example: "mensatek templates\nmensatek templates --json | jq -r '.[] | select(.verified) | .name'",
	}, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	list, err := client.Templates(ctx)
	if err != nil {
		return s.fail(name, err)
	}
	if *jsonOut {
		out := make([]templateJSON, 0, len(list))
		for _, t := range list {
			out = append(out, toTemplateJSON(t))
		}
		return s.output(name, writeJSON(s.stdout, out))
	}
	if len(list) == 0 {
		fmt.Fprintln(s.stdout, "The account has no templates.")
		return exitOK
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tLANGUAGE\tCATEGORY\tSTATUS")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sanitize(t.ID), sanitize(t.Name), sanitize(t.Language),
			sanitize(t.Category), sanitize(t.Status))
	}
	return s.output(name, tw.Flush())
}

// output ends a command after its output was written: a write error (a closed pipe, a full
// disk) is a local failure.
func (s *sys) output(name string, err error) int {
	if err != nil {
		return s.fail(name, &localError{fmt.Errorf("writing the output: %w", err)})
	}
	return exitOK
}

func runTemplate(ctx context.Context, args []string, s *sys) int {
	const name = "template"
	fs := newFlagSet(name)
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "template ID|NAME [flags]",
		about: `Shows a template and the variables each recipient must carry (API function
GetVariablesPlantillaWhatsapp): index, name, field, where it goes, format and an example.
Give the template's ID as 'mensatek templates' lists it, or its name. Pass each variable to
'mensatek send' as --var FIELD=VALUE, or give a campaign CSV one column per field.`,
		example: "mensatek template 572863982585983\nmensatek template customer_welcome --json",
	}, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return s.fail(name, usagef("give one template ID or name"))
	}
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	var d *mensatek.TemplateDetails
	if isDigits(pos[0]) {
		d, err = client.TemplateVariables(ctx, pos[0])
	} else {
		d, err = client.TemplateByName(ctx, pos[0])
	}
	if err != nil {
		return s.fail(name, err)
	}
	if *jsonOut {
		out := toTemplateJSON(d.TemplateInfo)
		out.Variables = make([]variableJSON, 0, len(d.Variables))
		for _, v := range d.Variables {
			out.Variables = append(out.Variables, variableJSON{Index: v.Index, Name: v.Name, Field: v.Field,
				Where: string(v.Location), Format: string(v.Format), Example: v.Example})
		}
		return s.output(name, writeJSON(s.stdout, out))
	}
	return s.output(name, printTemplate(s.stdout, d))
}

func printTemplate(w io.Writer, d *mensatek.TemplateDetails) error {
	approved := "approved: it can be sent"
	if !d.Verified {
		approved = "not approved: it cannot be sent yet"
	}
	fmt.Fprintf(w, "%s (id %s): %s, %s, %s, %s; %s\n\n", sanitize(d.Name), sanitize(d.ID), sanitize(d.Language),
		sanitize(d.Category), sanitize(d.Status), sanitize(d.ParameterFormat), approved)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tFIELD\tWHERE\tFORMAT\tEXAMPLE")
	columns := make([]string, 0, len(d.Variables))
	for _, v := range d.Variables {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Index, sanitize(v.Name), sanitize(v.Field),
			sanitize(v.Location), sanitize(v.Format), sanitize(v.Example))
		col := v.Field
		if col == "" {
			col = v.Name
		}
		columns = append(columns, sanitize(col))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nCampaign CSV header: %s\n", strings.Join(columns, ","))
	return err
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
