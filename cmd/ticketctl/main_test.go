package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the demo and checks the decisions it reports, in order.
func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo"}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errOut.String())
	}
	want := []string{
		// The callbacks are explained before the words are used.
		"gen_cb: called when the server issues a ticket",
		"dec_cb: called when a client presents a ticket",
		// Live TLS 1.3.
		"== live TLS 1.3",
		"status SuccessRenew -> return UseRenew -> resumed; crypto/tls sent 1 new ticket",
		"rotate: new primary",
		"status SuccessRenew -> return UseRenew -> resumed",
		"status SuccessRenew -> return UseRenew -> resumed",
		"status NoDecrypt -> return IgnoreRenew -> full handshake",
		// Live TLS 1.2: the engine asks for no ticket, crypto/tls sends one.
		"== live TLS 1.2",
		"status Success -> return Use -> resumed; crypto/tls sent 1 new ticket (the engine asked for 0",
		"status SuccessRenew -> return UseRenew -> resumed",
		"status NoDecrypt -> return IgnoreRenew -> full handshake",
		`app data "tenant=blue"`,
		"status SuccessRenew -> return UseRenew -> resumed",
		// The engine API.
		"full handshake, 2 new tickets",
		"status SuccessRenew -> return UseRenew -> resumed, 1 new ticket",
		"rotate: new primary",
		"status SuccessRenew -> return UseRenew -> resumed, 1 new ticket",
		"status NoDecrypt -> return IgnoreRenew -> full handshake, 2 new tickets",
		"full handshake (engine: ticket expired), 2 new tickets",
		"status Empty -> return IgnoreRenew -> full handshake, 1 new ticket",
		"status Success -> return Use -> resumed, 0 new tickets",
		"status SuccessRenew -> return UseRenew -> resumed, 1 new ticket",
		"status NoDecrypt -> return IgnoreRenew -> full handshake, 1 new ticket",
		`app data "tenant=blue"`,
		"ABORT with internal_error alert",
	}
	rest := out.String()
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("demo output lacks %q (in order); output:\n%s", w, out.String())
		}
		rest = rest[i+len(w):]
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
