// Command ticketctl drives the tlsticket engine from the command line.
//
// Usage:
//
//	ticketctl demo    issue TLS 1.2 and TLS 1.3 tickets and replay them
//	                  through the decision paths, with a readable trace
//	ticketctl serve   run a TLS server with the engine: one log line per
//	                  handshake, counters on exit and through expvar
//	ticketctl keygen, rotate, inspect, export, import, keypair
//	                  manage ticket keys and fleet key bundles
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "demo":
		if err := demo(stdout); err != nil {
			fmt.Fprintln(stderr, "ticketctl demo:", err)
			return 1
		}
		return 0
	case "serve":
		if err := serve(context.Background(), args[1:], stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "ticketctl serve:", err)
			return 1
		}
		return 0
	case "keygen":
		return cmdKeygen(args[1:], stdout, stderr)
	case "rotate":
		return cmdRotate(args[1:], stdout, stderr)
	case "inspect":
		return cmdInspect(args[1:], stdout, stderr)
	case "export":
		return cmdExport(args[1:], stdout, stderr)
	case "import":
		return cmdImport(args[1:], stdout, stderr)
	case "keypair":
		return cmdKeypair(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ticketctl: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: ticketctl <command>

commands:
  demo   issue TLS 1.2 and TLS 1.3 tickets and replay them through the
         decision paths (status -> return -> outcome, tickets to send),
         including a key rotation
  serve  run a TLS server with the engine, logging one line per handshake
         (ticketctl serve -h for its flags)

key management (each with -h for its flags):
  keygen   write a new key file (tlsticket, nginx or HAProxy format)
  rotate   add the next scheduled key to a key file, drop retired ones
  inspect  decode a ticket's header; with -keys, open it (secrets redacted)
  export   seal a key file to a fleet member with HPKE (X-Wing)
  import   open a sealed key bundle into a key file
  keypair  generate a member (X-Wing) or publisher (Ed25519) key pair`)
}
