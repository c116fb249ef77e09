// Command ticketctl drives the tlsticket engine from the command line.
//
// Usage:
//
//	ticketctl demo    issue TLS 1.2 and TLS 1.3 tickets and replay them
//	                  through the decision paths, with a readable trace
//	ticketctl serve   run a TLS server with the engine: one log line per
//	                  handshake, counters on exit, through expvar and for
//	                  Prometheus
//	ticketctl keygen, rotate, inspect, export, import, keypair
//	                  manage ticket keys and fleet key bundles
//
// Every command exits 0 on success, 1 on failure and 2 on bad usage;
// `ticketctl help NAME` and `ticketctl NAME -h` print NAME's usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands are the subcommands, each a func(args, stdout, stderr) that
// returns the exit code.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"demo":    cmdDemo,
	"serve":   cmdServe,
	"keygen":  cmdKeygen,
	"rotate":  cmdRotate,
	"inspect": cmdInspect,
	"export":  cmdExport,
	"import":  cmdImport,
	"keypair": cmdKeypair,
}

// order is the order of the commands in the general usage.
var order = []string{"demo", "serve", "keygen", "rotate", "inspect", "export", "import", "keypair"}

// summaries describe the commands, in the general usage and in each
// command's own.
var summaries = map[string]string{
	"demo": "Issue TLS 1.2 and TLS 1.3 tickets and replay them through the decision\n" +
		"paths (status -> return -> outcome, tickets to send), including a key\n" +
		"rotation, over real handshakes and through the engine API.",
	"serve": "Run a TLS server with the engine, logging one line per handshake.\n" +
		"SIGHUP reloads the key file; SIGINT and SIGTERM stop it and print the\n" +
		"engine's counters. -metrics-addr serves them for Prometheus.",
	"keygen":  "Write a new key file (tlsticket, nginx or HAProxy format).",
	"rotate":  "Add the next scheduled key to a key file when the schedule needs one,\nand drop retired keys; safe to run from cron.",
	"inspect": "Decode a ticket's header; with -keys, open it (secrets redacted).\nThe ticket may be hex or base64, a NewSessionTicket message in hex,\nor (with -in) an openssl s_client -sess_out session file.",
	"export":  "Seal a key file to a fleet member with HPKE (X-Wing).",
	"import":  "Open a sealed key bundle into a key file.",
	"keypair": "Generate a member (X-Wing) or publisher (Ed25519) key pair.",
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		return help(args[1:], stdout, stderr)
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "ticketctl: unknown command %q\nRun 'ticketctl help' for usage.\n", name)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// help is `ticketctl help [NAME]`: the general usage, or NAME's.
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stdout)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "ticketctl help: unexpected argument %q\nusage: ticketctl help [command]\n", args[1])
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ticketctl help: unknown command %q\nRun 'ticketctl help' for usage.\n", args[0])
		return 2
	}
	return cmd([]string{"-h"}, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ticketctl <command> [flags] [arguments]\n\ncommands:")
	for _, name := range order {
		fmt.Fprintf(w, "  %-8s %s\n", name, firstLine(summaries[name]))
	}
	fmt.Fprintln(w, "\nRun 'ticketctl help <command>' or 'ticketctl <command> -h' for a command's flags.\n"+
		"Exit status: 0 success, 1 failure, 2 bad usage.")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// cmdDemo is `ticketctl demo`. It takes no flags and no arguments.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("demo", "")
	err := fs.parse(args, 0, stdout)
	if err == nil {
		err = demo(stdout)
	}
	return exit("demo", err, stderr)
}

// cmdServe is `ticketctl serve`.
func cmdServe(args []string, stdout, stderr io.Writer) int {
	return exit("serve", serve(context.Background(), args, stdout, stderr), stderr)
}
