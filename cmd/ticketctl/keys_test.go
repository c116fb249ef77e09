package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// keysT0 is the -now of the tests.
var keysT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// command is the type of the command functions.
type command = func(args []string, stdout, stderr io.Writer) int

// runCmd runs a command function and returns its exit code and output.
func runCmd(t *testing.T, cmd command, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, cmd command, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, cmd, args...)
	if code != 0 {
		t.Fatalf("%v exited %d: %s", args, code, errOut)
	}
	return out
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", filepath.Base(path), got, want)
	}
}

func readFileEntries(t *testing.T, path string) []keyfile.KeyEntry {
	t.Helper()
	entries, err := readEntries(path)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.txt")
	mustRun(t, cmdKeygen, "-count", "3", "-now", keysT0.Format(time.RFC3339), "-aead", "ChaCha20-Poly1305", "-o", path)
	checkMode(t, path, 0o600)
	entries := readFileEntries(t, path)
	if len(entries) != 3 {
		t.Fatalf("%d keys, want 3", len(entries))
	}
	for i, e := range entries {
		act := keysT0.Add(time.Duration(i) * seal.DefaultRotation)
		ann := act.Add(-seal.DefaultAnnounce)
		if i == 0 {
			ann = act
		}
		want := seal.Phases{Announce: ann, Activate: act, DecryptOnly: act.Add(seal.DefaultRotation), Retire: act.Add(seal.DefaultRotation + seal.DefaultDecryptOnly)}
		if e.AEAD != seal.ChaCha20Poly1305 || !e.Announce.Equal(want.Announce) || !e.Activate.Equal(want.Activate) ||
			!e.DecryptOnly.Equal(want.DecryptOnly) || !e.Retire.Equal(want.Retire) {
			t.Errorf("key %d: %v, want phases %+v", i, e, want)
		}
	}
	if sched, err := keyfile.Parse(bytes.NewReader(mustRead(t, path))); err != nil {
		t.Fatal(err)
	} else if _, err := sched.RingAt(keysT0, nil); err != nil {
		t.Errorf("no ring at -now: %v", err)
	}
	// An existing file is never overwritten.
	if code, _, errOut := runCmd(t, cmdKeygen, "-o", path); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("keygen over an existing file: exit %d, %q", code, errOut)
	}
	// Without -o, the key file goes to stdout.
	if out := mustRun(t, cmdKeygen); !strings.HasPrefix(out, keyfile.Header+"\n") {
		t.Errorf("stdout %q", out)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeygenLegacyFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		format string
		size   int
		keys   int
	}{
		{"nginx48", 48, 1},
		{"nginx80", 80, 1},
		{"haproxy", 48, 3},
		{"haproxy80", 80, 3},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			path := filepath.Join(dir, tt.format)
			mustRun(t, cmdKeygen, "-format", tt.format, "-o", path)
			checkMode(t, path, 0o600)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var keys []keyfile.LegacyKey
			if strings.HasPrefix(tt.format, "nginx") {
				k, err := keyfile.ParseNginx(f)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			} else if keys, err = keyfile.ParseHAProxy(f); err != nil {
				t.Fatal(err)
			}
			if len(keys) != tt.keys || 16+len(keys[0].AESKey)+len(keys[0].HMACKey) != tt.size {
				t.Errorf("got %v, want %d keys of %d bytes", keys, tt.keys, tt.size)
			}
		})
	}
}

func TestKeysUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  command
		args []string
	}{
		{"keygen format", cmdKeygen, []string{"-format", "apache"}},
		{"keygen aead", cmdKeygen, []string{"-aead", "DES"}},
		{"keygen nginx count", cmdKeygen, []string{"-format", "nginx48", "-count", "2"}},
		{"keygen haproxy count", cmdKeygen, []string{"-format", "haproxy", "-count", "2"}},
		{"keygen rotation", cmdKeygen, []string{"-rotation", "0s"}},
		{"keygen now", cmdKeygen, []string{"-now", "yesterday"}},
		{"keygen argument", cmdKeygen, []string{"extra"}},
		{"keygen flag", cmdKeygen, []string{"-frobnicate"}},
		{"rotate no keys", cmdRotate, nil},
		{"inspect nothing", cmdInspect, nil},
		{"export missing", cmdExport, []string{"-keys", "k"}},
		{"import missing", cmdImport, []string{"-in", "b"}},
		{"keypair kind", cmdKeypair, []string{"-kind", "admin", "-pub", "p", "-priv", "q"}},
		{"keypair missing", cmdKeypair, []string{"-pub", "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, errOut := runCmd(t, tt.cmd, tt.args...); code != 2 || errOut == "" {
				t.Errorf("exit %d, stderr %q; want 2 and a message", code, errOut)
			}
		})
	}
	if code, _, _ := runCmd(t, cmdKeygen, "-h"); code != 0 {
		t.Errorf("keygen -h exited %d", code)
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.txt")
	at := func(d time.Duration) string { return keysT0.Add(d).Format(time.RFC3339) }
	mustRun(t, cmdKeygen, "-count", "2", "-now", at(0), "-o", path)
	before := readFileEntries(t, path)

	// At 1 h: the new key activates when key 1 stops sealing (12 h).
	out := mustRun(t, cmdRotate, "-keys", path, "-now", at(time.Hour))
	checkMode(t, path, 0o600)
	after := readFileEntries(t, path)
	if len(after) != 3 || !bytes.Equal(after[0].Secret, before[0].Secret) || !bytes.Equal(after[1].Secret, before[1].Secret) {
		t.Fatalf("rotate changed the existing keys: %v", after)
	}
	if want := keysT0.Add(12 * time.Hour); !after[2].Activate.Equal(want) || !after[2].Announce.Equal(want.Add(-time.Hour)) {
		t.Errorf("new key %v, want active at %v", after[2], want)
	}
	if !strings.Contains(out, "dropped 0 retired keys") {
		t.Errorf("stdout %q", out)
	}

	// At 17 h 30: key 2 seals until 18 h, less than the announce period
	// away: the new key activates at 18 h 30 and key 2 seals until then.
	out = mustRun(t, cmdRotate, "-keys", path, "-now", at(17*time.Hour+30*time.Minute))
	after = readFileEntries(t, path)
	if len(after) != 4 {
		t.Fatalf("%d keys after the second rotation, want 4", len(after))
	}
	if want := keysT0.Add(18*time.Hour + 30*time.Minute); !after[3].Activate.Equal(want) || !after[2].DecryptOnly.Equal(want) {
		t.Errorf("new key activates %v, previous key stops %v; want both %v", after[3].Activate, after[2].DecryptOnly, want)
	}
	if !strings.Contains(out, "seals 30m0s longer") {
		t.Errorf("stdout %q", out)
	}

	// Long after: every key has retired; the new key seals at once.
	late := keysT0.Add(1000 * time.Hour)
	out = mustRun(t, cmdRotate, "-keys", path, "-now", late.Format(time.RFC3339))
	after = readFileEntries(t, path)
	if len(after) != 1 || !after[0].Activate.Equal(late) {
		t.Fatalf("after a long pause: %v", after)
	}
	if !strings.Contains(out, "dropped 4 retired keys") || !strings.Contains(out, "seals at once") {
		t.Errorf("stdout %q", out)
	}
	// No temporary file is left behind.
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("directory holds %d files", len(files))
	}
}

func TestKeypairExportImport(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	out := mustRun(t, cmdKeypair, "-pub", p("m1.pub"), "-priv", p("m1.key"))
	if !strings.Contains(out, "member key pair") {
		t.Errorf("stdout %q", out)
	}
	mustRun(t, cmdKeypair, "-pub", p("m2.pub"), "-priv", p("m2.key"))
	mustRun(t, cmdKeypair, "-kind", "publisher", "-pub", p("pub.pub"), "-priv", p("pub.key"))
	mustRun(t, cmdKeypair, "-kind", "publisher", "-pub", p("evil.pub"), "-priv", p("evil.key"))
	checkMode(t, p("m1.key"), 0o600)
	checkMode(t, p("pub.key"), 0o600)
	checkMode(t, p("m1.pub"), 0o644)
	if code, _, _ := runCmd(t, cmdKeypair, "-pub", p("x.pub"), "-priv", p("m1.key")); code != 1 {
		t.Errorf("keypair over an existing key: exit %d", code)
	}
	if _, err := os.Stat(p("x.pub")); err == nil {
		t.Error("keypair left a public key without its private key")
	}
	mustRun(t, cmdKeygen, "-count", "4", "-now", keysT0.Format(time.RFC3339), "-o", p("keys.txt"))
	keysText := mustRead(t, p("keys.txt"))

	mustRun(t, cmdExport, "-keys", p("keys.txt"), "-to", p("m1.pub"), "-signer", p("pub.key"), "-fleet", "edge", "-epoch", "7", "-o", p("m1.bundle"))
	bundle := mustRead(t, p("m1.bundle"))
	if bytes.Contains(bundle, keysText[len(keyfile.Header)+1:][:40]) {
		t.Error("the bundle holds the key file in the clear")
	}
	out = mustRun(t, cmdImport, "-in", p("m1.bundle"), "-member", p("m1.key"), "-publisher", p("pub.pub"), "-fleet", "edge", "-after", "6", "-o", p("imported.txt"))
	if !strings.Contains(out, "epoch 7, 4 keys") {
		t.Errorf("stdout %q", out)
	}
	checkMode(t, p("imported.txt"), 0o600)
	if got := mustRead(t, p("imported.txt")); !bytes.Equal(got, keysText) {
		t.Errorf("imported key file differs:\ngot  %s\nwant %s", got, keysText)
	}
	// To stdout.
	if got := mustRun(t, cmdImport, "-in", p("m1.bundle"), "-member", p("m1.key"), "-publisher", p("pub.pub"), "-fleet", "edge"); got != string(keysText) {
		t.Error("import to stdout differs")
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wrong member", []string{"-member", p("m2.key"), "-publisher", p("pub.pub"), "-fleet", "edge"}, "another member"},
		{"wrong publisher", []string{"-member", p("m1.key"), "-publisher", p("evil.pub"), "-fleet", "edge"}, "authentication failed"},
		{"wrong fleet", []string{"-member", p("m1.key"), "-publisher", p("pub.pub"), "-fleet", "core"}, "another fleet"},
		{"replayed", []string{"-member", p("m1.key"), "-publisher", p("pub.pub"), "-fleet", "edge", "-after", "7"}, "not newer"},
		{"public key as private", []string{"-member", p("m1.pub"), "-publisher", p("pub.pub"), "-fleet", "edge"}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, errOut := runCmd(t, cmdImport, append([]string{"-in", p("m1.bundle")}, tt.args...)...)
			if code != 1 || !strings.Contains(errOut, tt.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, errOut, tt.want)
			}
		})
	}
	// A bundle signed by another publisher.
	mustRun(t, cmdExport, "-keys", p("keys.txt"), "-to", p("m1.pub"), "-signer", p("evil.key"), "-fleet", "edge", "-epoch", "8", "-o", p("evil.bundle"))
	if code, _, errOut := runCmd(t, cmdImport, "-in", p("evil.bundle"), "-member", p("m1.key"), "-publisher", p("pub.pub"), "-fleet", "edge"); code != 1 || !strings.Contains(errOut, "authentication failed") {
		t.Errorf("forged bundle: exit %d, %q", code, errOut)
	}
	// No secret key in any output or file but the private key files.
	priv := strings.TrimSpace(string(mustRead(t, p("m1.key"))))
	for _, f := range []string{"m1.bundle", "m1.pub", "imported.txt"} {
		if strings.Contains(string(mustRead(t, p(f))), priv[strings.Index(priv, ":")+1:]) {
			t.Errorf("%s contains the member's private key", f)
		}
	}
}
