package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIConvention runs every subcommand with -h, through help NAME, with
// an unknown flag, with a stray argument and with a missing file, and
// checks the exit code and where the output goes: usage on stdout with 0,
// one bad-usage message on stderr with 2, a failure naming the file with 1.
func TestCLIConvention(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		// missingFile are arguments that name the missing file; nil for a
		// command that reads no file.
		missingFile []string
	}{
		{"demo", nil},
		{"serve", []string{"-addr", "127.0.0.1:0", "-keys", missing}},
		{"keygen", nil}, // writes new files only
		{"rotate", []string{"-keys", missing}},
		{"inspect", []string{"-in", missing}},
		{"export", []string{"-keys", missing, "-to", missing, "-signer", missing, "-fleet", "f"}},
		{"import", []string{"-in", missing, "-member", missing, "-publisher", missing, "-fleet", "f"}},
		{"keypair", nil}, // writes new files only
	}
	if len(tests) != len(commands) {
		t.Fatalf("the table has %d commands, ticketctl %d", len(tests), len(commands))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runArgs := func(args ...string) (int, string, string) {
				var out, errOut bytes.Buffer
				code := run(args, &out, &errOut)
				return code, out.String(), errOut.String()
			}
			usageLine := "usage: ticketctl " + tt.name
			for _, h := range [][]string{{tt.name, "-h"}, {tt.name, "-help"}, {tt.name, "--help"}, {"help", tt.name}} {
				code, out, errOut := runArgs(h...)
				if code != 0 || !strings.HasPrefix(out, usageLine) || errOut != "" {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", h, code, out, errOut)
				}
				if tt.name == "demo" && strings.Contains(out, "==") {
					t.Errorf("%v ran the demo", h)
				}
			}
			for _, bad := range [][]string{{"--bogus"}, {"-bogus", "x"}, {"stray"}} {
				args := bad
				if tt.name == "inspect" && bad[0] == "stray" {
					args = []string{"aa", "stray"} // inspect takes one ticket
				}
				code, out, errOut := runArgs(append([]string{tt.name}, args...)...)
				if code != 2 || out != "" || strings.Count(errOut, "ticketctl "+tt.name+":") != 1 ||
					!strings.Contains(errOut, "ticketctl help "+tt.name) {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one message on stderr", args, code, out, errOut)
				}
				if strings.Contains(errOut, "Usage of") || strings.Count(errOut, "not defined") > 1 {
					t.Errorf("%v: flag error printed twice: %q", args, errOut)
				}
			}
			if tt.missingFile == nil {
				return
			}
			code, _, errOut := runArgs(append([]string{tt.name}, tt.missingFile...)...)
			if code != 1 || !strings.Contains(errOut, missing) {
				t.Errorf("%v: exit %d, stderr %q; want 1 and the file named", tt.missingFile, code, errOut)
			}
		})
	}
}

// TestServeUsageErrors checks the flag values and combinations serve
// refuses before it starts anything: exit 2 and one message.
func TestServeUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"versions", []string{"-versions", "1.1"}, "-versions"},
		{"policy", []string{"-policy", "bogus"}, "-policy"},
		{"aead", []string{"-aead", "AES-512"}, "-aead"},
		{"keys and rotate", []string{"-keys", "k", "-rotate", "1h"}, "-rotate and -keys"},
		{"cert without key", []string{"-cert", "c.pem"}, "-cert and -key"},
		{"key without cert", []string{"-key", "k.pem"}, "-cert and -key"},
		{"bad duration", []string{"-lifetime", "soon"}, "-lifetime"},
		{"stray", []string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"serve", "-addr", "127.0.0.1:0"}, tt.args...), &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tt.want) || strings.Count(errOut.String(), "ticketctl serve:") != 1 || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one message with %q", code, out.String(), errOut.String(), tt.want)
			}
		})
	}
}

// TestHelp checks the general usage and help for an unknown command.
func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "keygen") {
		t.Errorf("help: exit %d, stdout %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"help", "frobnicate"}, &out, &errOut); code != 2 || out.Len() != 0 {
		t.Errorf("help frobnicate: exit %d, stdout %q", code, out.String())
	}
	errOut.Reset()
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: ticketctl") {
		t.Errorf("no command: exit %d, stderr %q", code, errOut.String())
	}
}
