package main

// The inspect command: it reads a sealed ticket's clear header with the
// seal package's parser (the one Ring.OpenKey uses), and with a key file
// opens the ticket and prints its session state.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tlsticket/tlsticket/format"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// cmdInspect is `ticketctl inspect`: it decodes a sealed ticket's header,
// given in hex or base64 on the command line or in a file (-in: raw bytes,
// hex or base64), bare, inside a NewSessionTicket message or inside an
// openssl s_client -sess_out session file, and with -keys opens it and prints the session state,
// with its secrets redacted unless -show-secrets.
func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("inspect", "[-keys file] [-show-secrets] [-now time] {-in file | ticket}")
	keysFile := fs.String("keys", "", "open the ticket with the keys of this key `file`")
	in := fs.String("in", "", "read the ticket from `file`: raw, hex or base64, a NewSessionTicket message, or an openssl -sess_out session")
	show := fs.Bool("show-secrets", false, "print the session secret, application data and embedded state")
	now := fs.String("now", "", "`time` at which to report key phases, RFC 3339 (default: now)")
	err := fs.parse(args, 1, stdout)
	if err == nil {
		err = keysInspect(fs.Arg(0), *in, *keysFile, *now, *show, stdout)
	}
	return exit("inspect", err, stderr)
}

func keysInspect(arg, in, keysFile, nowFlag string, show bool, stdout io.Writer) error {
	switch {
	case arg == "" && in == "":
		return usageErr("no ticket: give one in hex or base64 as the argument, or -in file")
	case arg != "" && in != "":
		return usageErr("give a ticket as the argument or -in file, not both")
	}
	now, err := keysNow(nowFlag)
	if err != nil {
		return err
	}
	raw, source := []byte(arg), "argument"
	if in != "" {
		if raw, err = os.ReadFile(in); err != nil {
			return err
		}
		source = in
	}
	ticket, err := findTicket(raw, in != "", stdout)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	h, err := seal.ParseHeader(ticket)
	if err != nil {
		return fmt.Errorf("%s: not a tlsticket sealed ticket (%d bytes): %w", source, len(ticket), err)
	}
	fmt.Fprintf(stdout, "version:           %d\n", h.Version)
	fmt.Fprintf(stdout, "aead:              %v\n", h.AEAD)
	fmt.Fprintf(stdout, "key name:          %v\n", h.KeyName)
	fmt.Fprintf(stdout, "nonce length:      %d\n", len(h.Nonce))
	fmt.Fprintf(stdout, "ciphertext length: %d (tag included)\n", h.CiphertextLen)
	if keysFile == "" {
		return nil
	}
	entries, err := readEntries(keysFile)
	defer func() { clearEntries(entries) }()
	if err != nil {
		return err
	}
	for i, e := range entries {
		k, err := e.Key()
		if err != nil {
			return fmt.Errorf("%s: key %d: %w", keysFile, i+1, err)
		}
		if k.Name() != h.KeyName {
			continue
		}
		fmt.Fprintf(stdout, "key:               key %d of %s, %v, %v at %s\n", i+1, keysFile, e.AEAD, e.At(now), keysStamp(now))
		ring, err := seal.NewRing(nil, k)
		if err != nil {
			return err
		}
		pt, err := ring.Open(nil, ticket, nil)
		defer clear(pt)
		if err != nil {
			return fmt.Errorf("the ticket does not open under its key: %w", err)
		}
		s, err := format.ParseState(pt)
		if err != nil {
			return fmt.Errorf("the ticket opened but its session state does not parse: %w", err)
		}
		printState(stdout, s, show)
		return nil
	}
	return fmt.Errorf("no key of %s has key name %v", keysFile, h.KeyName)
}

// findTicket returns the ticket in what an operator has: an openssl
// s_client -sess_out session file (PEM "SSL SESSION PARAMETERS"), a TLS
// 1.3 or TLS 1.2 NewSessionTicket message, or the ticket itself, each in
// hex or base64 (or raw bytes from a file). It says on w where it found a
// ticket that was not given bare.
func findTicket(raw []byte, fromFile bool, w io.Writer) ([]byte, error) {
	if block, _ := pem.Decode(raw); block != nil {
		if block.Type != "SSL SESSION PARAMETERS" {
			return nil, fmt.Errorf("a PEM %q block, not an openssl session (SSL SESSION PARAMETERS)", block.Type)
		}
		s, err := legacy.ParseSession(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("openssl session: %w", err)
		}
		defer s.Clear()
		if len(s.Ticket) == 0 {
			return nil, errors.New("the openssl session holds no ticket (the server sent none, or the session is a server's)")
		}
		fmt.Fprintf(w, "source:            openssl session, %s, cipher suite %#04x, ticket lifetime hint %d s\n",
			tlsVersionName(s.Version), s.CipherSuite, s.TicketLifetimeHint)
		return s.Ticket, nil
	}
	b := decodeTicket(raw, fromFile)
	if _, err := seal.ParseHeader(b); err == nil || len(b) < 4 || b[0] != newSessionTicketType {
		return b, nil
	}
	if m, err := format.ParseNewSessionTicketTLS13(b); err == nil {
		fmt.Fprintf(w, "source:            TLS 1.3 NewSessionTicket, lifetime %d s, age add %d, nonce %x, %d extensions\n",
			m.Lifetime, m.AgeAdd, m.Nonce, len(m.Extensions))
		return m.Ticket, nil
	}
	if m, err := format.ParseNewSessionTicketTLS12(b); err == nil {
		if len(m.Ticket) == 0 {
			return nil, errors.New("a TLS 1.2 NewSessionTicket with an empty ticket (the server withdrew it)")
		}
		fmt.Fprintf(w, "source:            TLS 1.2 NewSessionTicket, lifetime hint %d s\n", m.LifetimeHint)
		return m.Ticket, nil
	}
	return b, nil
}

// newSessionTicketType is the HandshakeType of NewSessionTicket (RFC
// 8446, Section 4).
const newSessionTicketType = 4

// tlsVersionName returns "TLS 1.2" or "TLS 1.3", or the number.
func tlsVersionName(v uint16) string {
	switch v {
	case format.VersionTLS12:
		return "TLS 1.2"
	case format.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("version %#04x", v)
}

// decodeTicket decodes a ticket given as hex or base64 (standard or URL,
// padded or not), ignoring surrounding space. If raw decodes as neither
// and fromFile, it is the ticket itself.
func decodeTicket(raw []byte, fromFile bool) []byte {
	s := strings.TrimSpace(string(raw))
	if b, err := hex.DecodeString(s); err == nil {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	if fromFile {
		return raw
	}
	return []byte(s)
}

// printState prints a session state, redacting its secret, application
// data and embedded state unless show.
func printState(w io.Writer, s *format.State, show bool) {
	secret := func(b []byte) string {
		if show {
			return hex.EncodeToString(b) + " (" + strconv.Itoa(len(b)) + " bytes)"
		}
		return "REDACTED (" + strconv.Itoa(len(b)) + " bytes; -show-secrets to print)"
	}
	version := tlsVersionName(s.Version)
	certs := 0
	for _, c := range s.PeerCertificates {
		certs += len(c)
	}
	fmt.Fprintln(w, "session:")
	fmt.Fprintf(w, "  protocol version:       %s (%#04x)\n", version, s.Version)
	fmt.Fprintf(w, "  cipher suite:           %#04x\n", s.CipherSuite)
	fmt.Fprintf(w, "  secret:                 %s\n", secret(s.Secret))
	fmt.Fprintf(w, "  created:                %s\n", keysStamp(s.CreatedAt))
	fmt.Fprintf(w, "  lifetime:               %d s (expires %s)\n", s.Lifetime, keysStamp(s.Expires()))
	fmt.Fprintf(w, "  age add:                %d\n", s.AgeAdd)
	fmt.Fprintf(w, "  max early data:         %d\n", s.MaxEarlyData)
	fmt.Fprintf(w, "  extended master secret: %t\n", s.ExtendedMasterSecret)
	fmt.Fprintf(w, "  server name:            %q\n", s.ServerName)
	fmt.Fprintf(w, "  alpn:                   %q\n", s.ALPN)
	binding := hex.EncodeToString(s.Binding)
	if binding == "" {
		binding = "(none)"
	}
	fmt.Fprintf(w, "  binding:                %s\n", binding)
	fmt.Fprintf(w, "  peer certificates:      %d (%d bytes)\n", len(s.PeerCertificates), certs)
	fmt.Fprintf(w, "  app data:               %s\n", secret(s.AppData))
	fmt.Fprintf(w, "  embedded state:         %s\n", secret(s.Embedded))
}
