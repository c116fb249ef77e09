package main

import (
	"bytes"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
	"github.com/tlsticket/tlsticket/seal/legacy"
)

// keysT0 is the -now of the tests.
var keysT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// runCmd runs a command function and returns its exit code and output.
func runCmd(t *testing.T, cmd func(args []string, stdout, stderr io.Writer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, cmd func(args []string, stdout, stderr io.Writer) int, args ...string) string {
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
	// With -o -, the key file goes to stdout; without -o, nowhere.
	if out := mustRun(t, cmdKeygen, "-o", "-"); !strings.HasPrefix(out, keyfile.Header+"\n") {
		t.Errorf("stdout %q", out)
	}
}

// TestKeygenSecretsOnlyWhenAsked is the regression test of issue 15 item 5:
// keygen printed the secret key file when -o was left out, wrote raw
// binary keys to a terminal, ignored -aead for nginx and HAProxy keys, and
// wrote times with nanoseconds.
func TestKeygenSecretsOnlyWhenAsked(t *testing.T) {
	for _, format := range []string{"tlsticket", "nginx48", "haproxy"} {
		code, out, errOut := runCmd(t, cmdKeygen, "-format", format)
		if code != 2 || out != "" || !strings.Contains(errOut, "-o - to print") {
			t.Errorf("keygen -format %s without -o: exit %d, stdout %q, stderr %q; want 2, nothing, and how to ask", format, code, out, errOut)
		}
	}
	// A character device stands for a terminal: /dev/null is one.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	var errOut bytes.Buffer
	if code := cmdKeygen([]string{"-format", "nginx80", "-o", "-"}, devNull, &errOut); code != 2 || !strings.Contains(errOut.String(), "terminal") {
		t.Errorf("keygen -format nginx80 -o - to a character device: exit %d, %q", code, errOut.String())
	}
	if out := mustRun(t, cmdKeygen, "-format", "nginx80", "-o", "-"); len(out) != 80 {
		t.Errorf("keygen -format nginx80 -o - to a pipe wrote %d bytes", len(out))
	}
	for _, args := range [][]string{
		{"-format", "nginx48", "-aead", "AES-128-GCM"},
		{"-format", "haproxy80", "-aead", "AES-256-GCM"},
		{"-format", "haproxy", "-rotation", "1h"},
	} {
		code, _, errOut := runCmd(t, cmdKeygen, append(args, "-o", "-")...)
		if code != 2 || !strings.Contains(errOut, "applies to -format tlsticket only") {
			t.Errorf("keygen %v: exit %d, %q", args, code, errOut)
		}
	}
	// Without -now, times are whole seconds.
	out := mustRun(t, cmdKeygen, "-count", "2", "-o", "-")
	if fraction := regexp.MustCompile(`=[0-9T:-]+\.[0-9]+Z`); fraction.MatchString(out) {
		t.Errorf("keygen wrote fractions of a second:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, cmdRotate, "-keys", path, "-force")
	if got := mustRead(t, path); regexp.MustCompile(`=[0-9T:-]+\.[0-9]+Z`).Match(got) {
		t.Errorf("rotate wrote fractions of a second:\n%s", got)
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
			var keys []legacy.Key
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
		cmd  func(args []string, stdout, stderr io.Writer) int
		args []string
	}{
		{"keygen format", cmdKeygen, []string{"-format", "apache"}},
		{"keygen aead", cmdKeygen, []string{"-aead", "DES"}},
		{"keygen nginx count", cmdKeygen, []string{"-format", "nginx48", "-count", "2"}},
		{"keygen haproxy count", cmdKeygen, []string{"-format", "haproxy", "-count", "2"}},
		{"keygen rotation", cmdKeygen, []string{"-rotation", "0s"}},
		{"keygen now", cmdKeygen, []string{"-now", "yesterday"}},
		{"keygen argument", cmdKeygen, []string{"extra"}},
		{"keygen no output", cmdKeygen, nil},
		{"keygen nginx aead", cmdKeygen, []string{"-format", "nginx48", "-aead", "AES-256-GCM", "-o", "-"}},
		{"keygen flag", cmdKeygen, []string{"-frobnicate"}},
		{"rotate no keys", cmdRotate, nil},
		{"rotate negative ahead", cmdRotate, []string{"-keys", "k", "-ahead", "-1h"}},
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

	// At 1 h, key 1 seals an hour later: nothing to do.
	if out := mustRun(t, cmdRotate, "-keys", path, "-now", at(time.Hour)); !strings.Contains(out, "nothing to do: key 1 seals at 2030-01-01T02:00:00Z") {
		t.Errorf("stdout %q", out)
	}
	// At 11 h, no key seals an hour later: the new key activates when
	// key 1 stops sealing (12 h).
	out := mustRun(t, cmdRotate, "-keys", path, "-now", at(11*time.Hour))
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

// TestRotateIdempotent is the regression test of issue 15 item 2: rotate
// added a key on every run (four runs after keygen: five keys).
func TestRotateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	at := func(d time.Duration) string { return keysT0.Add(d).Format(time.RFC3339) }
	mustRun(t, cmdKeygen, "-now", at(0), "-o", path)
	want := mustRead(t, path)
	for _, d := range []time.Duration{0, time.Minute, time.Hour, 4*time.Hour + 59*time.Minute} {
		if out := mustRun(t, cmdRotate, "-keys", path, "-now", at(d)); !strings.Contains(out, "nothing to do") {
			t.Errorf("rotate at %v: %q", d, out)
		}
	}
	if got := mustRead(t, path); !bytes.Equal(got, want) {
		t.Fatalf("four runs of rotate changed the key file:\n%s", got)
	}
	// -force adds a key anyway, after the first.
	mustRun(t, cmdRotate, "-keys", path, "-now", at(time.Hour), "-force")
	after := readFileEntries(t, path)
	if len(after) != 2 || !after[1].Activate.Equal(keysT0.Add(seal.DefaultRotation)) {
		t.Fatalf("after -force: %v", after)
	}
	// Then nothing to do until an hour before key 2 stops sealing
	// (-announce), or six hours before with -ahead 6h.
	want = mustRead(t, path)
	mustRun(t, cmdRotate, "-keys", path, "-now", at(10*time.Hour+59*time.Minute))
	if out := mustRun(t, cmdRotate, "-keys", path, "-now", at(6*time.Hour+time.Minute), "-ahead", "5h"); !strings.Contains(out, "nothing to do") {
		t.Errorf("rotate -ahead 5h: %q", out)
	}
	if got := mustRead(t, path); !bytes.Equal(got, want) {
		t.Fatal("rotate changed the key file with nothing to do")
	}
	if out := mustRun(t, cmdRotate, "-keys", path, "-now", at(6*time.Hour), "-ahead", "6h"); !strings.Contains(out, "added") {
		t.Errorf("rotate -ahead 6h: %q", out)
	}
	if got := readFileEntries(t, path); len(got) != 3 || !got[2].Activate.Equal(keysT0.Add(12*time.Hour)) {
		t.Errorf("after rotate -ahead 6h: %v", got)
	}
}

// TestRotateKeepsModeAndGroup is the regression test of issue 15 item 2:
// rotate replaced a 0640 root:nogroup key file with a 0600 root:root one,
// and a server that reads its keys through its group lost them.
func TestRotateKeepsModeAndGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	mustRun(t, cmdKeygen, "-now", keysT0.Format(time.RFC3339), "-o", path)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	gid := os.Getgid()
	if os.Getuid() == 0 {
		gid = 65534 // nogroup
		if g, err := user.LookupGroup("nogroup"); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(path, 0, gid); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("not root: checking the mode and the primary group %d only", gid)
	}
	for range 2 {
		mustRun(t, cmdRotate, "-keys", path, "-now", keysT0.Format(time.RFC3339), "-force")
	}
	checkMode(t, path, 0o640)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Gid) != gid || int(st.Uid) != os.Getuid() {
		t.Errorf("after rotate: owner %d:%d, want %d:%d", st.Uid, st.Gid, os.Getuid(), gid)
	}
	if n := len(readFileEntries(t, path)); n != 3 {
		t.Errorf("%d keys, want 3", n)
	}
}

// TestRotateRefusesInsecureKeyFile is the regression test of issue 11 item
// 10: rotate used a key file that every user can read without a word.
func TestRotateRefusesInsecureKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	mustRun(t, cmdKeygen, "-now", keysT0.Format(time.RFC3339), "-o", path)
	for _, mode := range []os.FileMode{0o644, 0o660, 0o606} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, cmdRotate, "-keys", path, "-now", keysT0.Format(time.RFC3339), "-force")
		if code != 1 || out != "" || !strings.Contains(errOut, "chmod 0600 "+path) || !strings.Contains(errOut, "-insecure-key-perms") {
			t.Errorf("rotate of a %04o key file: exit %d, stdout %q, stderr %q", mode, code, out, errOut)
		}
	}
	if n := len(readFileEntries(t, path)); n != 1 {
		t.Fatalf("a refused rotate changed the file: %d keys", n)
	}
	// The operator may say otherwise; the file keeps its mode.
	mustRun(t, cmdRotate, "-keys", path, "-now", keysT0.Format(time.RFC3339), "-force", "-insecure-key-perms")
	checkMode(t, path, 0o606)
	if n := len(readFileEntries(t, path)); n != 2 {
		t.Errorf("%d keys after rotate -insecure-key-perms, want 2", n)
	}
	// 0640 is accepted: a server may read its keys through its group.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	mustRun(t, cmdRotate, "-keys", path, "-now", keysT0.Format(time.RFC3339), "-force")
}
