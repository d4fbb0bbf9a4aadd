// Command mensatek uses the Mensatek WhatsApp Business API from the shell: check that the
// credentials work, see which templates are approved, send one message, send a campaign from a
// spreadsheet, watch webhooks arrive, and run a fake of the API for tests in any language.
//
// Install it with
//
//	go install github.com/mensatek-go/mensatek/cmd/mensatek@latest
//
// Usage:
//
//	mensatek templates                       list the account's templates
//	mensatek template ID|NAME                a template's variables
//	mensatek send --to PHONE --text TEXT     send one message (or --template, --image,
//	                                         --document, --location; --at, --reference)
//	mensatek campaign --template NAME FILE   send a template to every row of a spreadsheet
//	                                         (.xlsx, CSV or TSV, any encoding), in batches
//	                                         (--parallel N at once), resumable with --resume;
//	                                         memory does not grow with the rows
//	mensatek typing --id ID --to PHONE       show the typing indicator
//	mensatek media --id ID --from PHONE -o FILE
//	                                         download a file a customer sent
//	mensatek status TEXT                     change the account's status text
//	mensatek listen --addr :8080 --user U --password P
//	                                         receive webhooks, one JSON line per event
//	                                         (--no-auth instead of credentials: anyone may post)
//	mensatek fake --addr 127.0.0.1:8080      run a fake of the API and print its credentials
//	mensatek version                         print the version
//
// Every command takes --help (with an example) and --json (machine-readable output). The
// commands that call the API read the credentials from MENSATEK_API_USER and MENSATEK_API_TOKEN,
// or from --user and --token-file, and never print them; --base-url (or MENSATEK_BASE_URL)
// points them at another address, such as the fake's. They read the environment as
// mensatek.NewClientFromEnv does, the flags winning over it.
//
// Exit codes: 0 success, 1 a local failure (a file, a port), 2 a usage mistake, 3 a local
// validation error (nothing was sent), 4 an error answer from the API, 5 a network failure or a
// send whose outcome is unknown, 130 interrupted. Every error is one line on stderr.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	code := run(ctx, os.Args[1:], &sys{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		isTerminal: isTerminal,
	})
	stop()
	os.Exit(code)
}

// isTerminal reports whether w is a terminal, for the campaign's progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

// command is one subcommand. run parses args (everything after the command's name) and returns
// the process's exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s *sys) int
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{"templates", "list the account's templates", runTemplates},
		{"template", "show a template's variables (by ID or name)", runTemplate},
		{"send", "send one message: text, template, image, document or location", runSend},
		{"campaign", "send a template to every row of a spreadsheet (.xlsx, CSV), in batches", runCampaign},
		{"typing", "show the typing indicator for a message a customer sent", runTyping},
		{"media", "download a file a customer sent", runMedia},
		{"status", "change the WhatsApp account's status text", runStatus},
		{"listen", "receive webhooks and print each event", runListen},
		{"optout", "record, lift or list customers' opt-outs in a contact store", runOptout},
		{"fake", "run a fake of the API for tests, and print its credentials", runFake},
		{"version", "print the version", runVersion},
	}
}

// run runs the command args[0] with the rest of args and returns the exit code.
func run(ctx context.Context, args []string, s *sys) int {
	if len(args) == 0 {
		fmt.Fprintln(s.stderr, "mensatek: no command given (see 'mensatek --help')")
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			if c, ok := lookup(args[1]); ok {
				return c.run(ctx, []string{"--help"}, s)
			}
			fmt.Fprintf(s.stderr, "mensatek: unknown command %q (see 'mensatek --help')\n", args[1])
			return exitUsage
		}
		printHelp(s.stdout)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(s.stderr, "mensatek: unknown command %q (see 'mensatek --help')\n", name)
		return exitUsage
	}
	return c.run(ctx, args[1:], s)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `mensatek uses the Mensatek WhatsApp Business API from the shell.

Usage: mensatek COMMAND [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Run 'mensatek COMMAND --help' for a command's flags and an example. Every command takes --json
for machine-readable output.

Credentials: MENSATEK_API_USER and MENSATEK_API_TOKEN (from the panel, under Your Data ->
Configure Account), or --user and --token-file. They are never printed. --base-url (or
MENSATEK_BASE_URL) calls another address, such as the one 'mensatek fake' prints.

Exit codes:
`)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range exitCodes {
		fmt.Fprintf(tw, "  %d\t%s\n", e.code, e.meaning)
	}
	tw.Flush()
	fmt.Fprint(w, `
Example:
  export MENSATEK_API_USER=... MENSATEK_API_TOKEN=...
  mensatek templates
  mensatek send --to 34600000001 --template customer_welcome --var Nombre=Ana \
    --var Variable_Cabecera_image=https://example.com/banner.jpg \
    --var Valor-URL-Boton-0=https://example.com/offer/1
`)
}

// exitCodes documents the exit codes, for help.
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "success"},
	{exitFailure, "a local failure: a file could not be written, a port could not be opened"},
	{exitUsage, "a usage mistake: an unknown flag, a missing argument, no credentials"},
	{exitValidation, "the request was checked locally and is wrong: nothing was sent"},
	{exitAPI, "the API answered with an error (authentication, credits, invalid data) or an unreadable reply"},
	{exitNetwork, "a network failure, or a send whose outcome is unknown: do not resend blindly"},
	{exitInterrupted, "interrupted (Ctrl-C)"},
}
