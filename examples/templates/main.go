// Command templates lists the account's WhatsApp templates, or with -id the variables of one,
// and with -name and -to sends an approved template after checking its variables.
//
//	MENSATEK_API_USER=... MENSATEK_API_TOKEN=... go run ./examples/templates
//	MENSATEK_API_USER=... MENSATEK_API_TOKEN=... go run ./examples/templates -id 572863982585983
//	MENSATEK_API_USER=... MENSATEK_API_TOKEN=... go run ./examples/templates -name customer_welcome \
//	    -to 34600000000 -var Nombre=Ana -var Variable_Cabecera_image=https://example.com/a.jpg
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
)

type vars map[string]string

func (v vars) String() string { return fmt.Sprint(map[string]string(v)) }
func (v vars) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want FIELD=VALUE, got %q", s)
	}
	v[k] = val
	return nil
}

func main() {
	id := flag.String("id", "", "show the variables of the template with this ID")
	name := flag.String("name", "", "send the template with this name (needs -to)")
	to := flag.String("to", "", "recipient's phone for -name")
	values := vars{}
	flag.Var(values, "var", "a template variable as FIELD=VALUE (repeat)")
	flag.Parse()

	client, err := mensatek.NewClientFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, client, *id, *name, *to, values); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, client *mensatek.Client, id, name, to string, values vars) error {
	switch {
	case name != "":
		if to == "" {
			return fmt.Errorf("-name needs -to")
		}
		r := mensatek.Recipient{Phone: to, Vars: values}
		// SendTemplateChecked fetches the template's variables (cached) and refuses, before
		// sending, a template that is not approved, a recipient missing a variable, or a variable
		// the template does not have (with a "did you mean" when one is close).
		res, err := client.SendTemplateChecked(ctx, name, r)
		if err != nil {
			return err
		}
		fmt.Printf("sent: message %d, %.2f credits left\n", res.MessageID, res.Credits)
	case id != "":
		d, err := client.TemplateVariables(ctx, id)
		if err != nil {
			return err
		}
		fmt.Printf("%s (%s, %s, %s)\n", d.Name, d.Language, d.Category, d.Status)
		for _, v := range d.Variables {
			fmt.Printf("  %d. %-16s field %-24s %-8s %-13s e.g. %s\n", v.Index, v.Name, v.Field, v.Location, v.Format, v.Example)
		}
	default:
		list, err := client.Templates(ctx)
		if err != nil {
			return err
		}
		for _, t := range list {
			fmt.Printf("%-16s %-24s %-5s %-15s %s\n", t.ID, t.Name, t.Language, t.Category, t.Status)
		}
	}
	return nil
}
