package keyfile

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsticket/tlsticket/internal/fakeclock"
	"github.com/tlsticket/tlsticket/internal/testkit"
	"github.com/tlsticket/tlsticket/seal"
)

// oneKeyFile is a key file of the key of secret, with the phases of key n.
func oneKeyFile(secret []byte, n int) string {
	return Header + "\n" + keyLine(seal.AES256GCM, secret, n) + "\n"
}

// nameOf returns the key name of an AES-256-GCM key of secret.
func nameOf(t testing.TB, secret []byte) seal.KeyName {
	t.Helper()
	k, err := seal.NewKey(seal.AES256GCM, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k.Name()
}

// scheduleNames returns the key names of s's schedule.
func scheduleNames(t testing.TB, s *Source) []seal.KeyName {
	t.Helper()
	sched, err := s.Schedule(base)
	if err != nil {
		t.Fatal(err)
	}
	var names []seal.KeyName
	for _, k := range sched.Keys() {
		names = append(names, k.Key.Name())
	}
	return names
}

// checkKeys checks that s holds exactly the keys of secrets.
func checkKeys(t testing.TB, s *Source, secrets ...[]byte) {
	t.Helper()
	got := scheduleNames(t, s)
	if len(got) != len(secrets) {
		t.Fatalf("source has %d keys, want %d", len(got), len(secrets))
	}
	for i, secret := range secrets {
		if want := nameOf(t, secret); got[i] != want {
			t.Errorf("key %d is %v, want %v", i, got[i], want)
		}
	}
}

// writeRenamed replaces the file at path by a rename, as `ticketctl rotate`
// does.
func writeRenamed(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// notified reports whether s has a pending notification, and takes it.
func notified(s *Source) bool {
	select {
	case <-s.Changed():
		return true
	default:
		return false
	}
}

func newTestSource(t testing.TB, path string) *Source {
	t.Helper()
	s, err := NewSource(path, SourceOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	notified(s) // the first load
	return s
}

// TestSourceRename follows a key file replaced by a rename, then rewritten
// in place, and checks that an unchanged file is not read again.
func TestSourceRename(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, oneKeyFile(secretA, 0))
	s := newTestSource(t, path)
	checkKeys(t, s, secretA)
	if err := s.Poll(); err != nil || notified(s) {
		t.Fatalf("Poll of an unchanged file: %v, notified %v", err, !notified(s))
	}

	writeRenamed(t, path, validFile())
	if err := s.Poll(); err != nil {
		t.Fatal(err)
	}
	if !notified(s) {
		t.Error("no notification after a rename")
	}
	if n := len(scheduleNames(t, s)); n != 3 {
		t.Errorf("source has %d keys after the rename, want 3", n)
	}

	// In place, with another size.
	if err := os.WriteFile(path, []byte(oneKeyFile(secretB, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Poll(); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, s, secretB)
}

// TestSourceSymlinkSwap follows a Kubernetes Secret volume: the key file
// is a link through "..data", which the kubelet points at a new directory
// with one rename.
func TestSourceSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "keys.txt"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..2030_01_01_00_00_00.1", oneKeyFile(secretA, 0))
	path := filepath.Join(dir, "keys.txt")
	if err := os.Symlink(filepath.Join("..data", "keys.txt"), path); err != nil {
		t.Fatal(err)
	}
	s := newTestSource(t, path)
	checkKeys(t, s, secretA)

	// The same size and, at a coarse clock, the same time: only the inode
	// differs.
	version("..2030_01_01_00_05_00.2", oneKeyFile(secretB, 0))
	if err := s.Poll(); err != nil {
		t.Fatal(err)
	}
	if !notified(s) {
		t.Error("no notification after the symlink swap")
	}
	checkKeys(t, s, secretB)
}

// TestSourceBadFile checks that a file that does not parse, or is gone,
// keeps the previous schedule and is reported once.
func TestSourceBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, oneKeyFile(secretA, 0))
	s := newTestSource(t, path)

	writeRenamed(t, path, Header+"\nkey AES-256-GCM not-base64 announce=x\n")
	err := s.Poll()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), path) {
		t.Errorf("Poll of a bad file = %v, want a LineError for line 2 naming the file", err)
	}
	if err := s.Poll(); err != nil {
		t.Errorf("second Poll of the same bad file = %v, want it reported once", err)
	}
	if err := s.Reload(); err == nil {
		t.Error("Reload of a bad file succeeded")
	}
	if notified(s) {
		t.Error("a bad file notified a change")
	}
	checkKeys(t, s, secretA)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Poll(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Poll of a removed file = %v, want ErrNotExist", err)
	}
	if err := s.Poll(); err != nil {
		t.Errorf("second Poll of a removed file = %v, want it reported once", err)
	}
	checkKeys(t, s, secretA)

	writeRenamed(t, path, oneKeyFile(secretB, 0))
	if err := s.Poll(); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, s, secretB)

	if _, err := NewSource(filepath.Join(t.TempDir(), "missing"), SourceOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewSource(missing file) = %v, want ErrNotExist", err)
	}
}

// TestSourceDropsRetired checks that the Source drops the keys retired at
// the time its Rotator asks.
func TestSourceDropsRetired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, Header+"\n"+keyLine(seal.AES256GCM, secretA, 0)+"\n"+keyLine(seal.AES256GCM, secretB, 1)+"\n")
	s := newTestSource(t, path)
	sched, err := s.Schedule(phases(0).Retire)
	if err != nil {
		t.Fatal(err)
	}
	if keys := sched.Keys(); len(keys) != 1 || keys[0].Key.Name() != nameOf(t, secretB) {
		t.Errorf("schedule after key A retired = %v, want key B alone", sched)
	}
	checkKeys(t, s, secretB)
}

// TestSourceReload checks that Reload reads an unchanged file again and
// notifies.
func TestSourceReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, oneKeyFile(secretA, 0))
	s := newTestSource(t, path)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if !notified(s) {
		t.Error("no notification after Reload")
	}
}

// TestSourceRotator runs a Source and the Rotator that follows it: a file
// replaced while they run is sealed with as soon as its key is active.
func TestSourceRotator(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, oneKeyFile(secretA, 0))
	var log testkit.SyncBuffer
	s, err := NewSource(path, SourceOptions{PollInterval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	clock := fakeclock.New(base.Add(time.Hour))
	r, err := seal.NewSourceRotator(s, seal.RotatorConfig{Time: clock.Now, Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Keyring().Load().Primary().Name(); got != nameOf(t, secretA) {
		t.Fatalf("primary %v, want key A", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	wg.Go(func() { r.Run(ctx) })
	writeRenamed(t, path, oneKeyFile(secretB, 0))
	for deadline := time.Now().Add(10 * time.Second); r.Keyring().Load().Primary().Name() != nameOf(t, secretB); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Rotator did not pick up the rewritten file")
		}
	}
	writeRenamed(t, path, "not a key file\n")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), "key file not loaded"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning for a bad file:\n%s", log.String())
		}
	}
	cancel()
	wg.Wait()
	if got := r.Keyring().Load().Primary().Name(); got != nameOf(t, secretB) {
		t.Errorf("primary after a bad file %v, want key B", got)
	}
	if !strings.Contains(log.String(), `msg="tlsticket keys: key file loaded" file=`+path+" keys=1") {
		t.Errorf("log lacks the reload:\n%s", log.String())
	}
}

// TestSourcePermissions: a key file that others may read is refused at
// start and at reload (keeping the keys it has), unless the operator says
// InsecurePermissions.
func TestSourcePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, path, oneKeyFile(secretA, 0))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSource(path, SourceOptions{Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrInsecurePermissions) || !strings.Contains(err.Error(), "chmod") {
		t.Fatalf("world-readable key file: %v, want ErrInsecurePermissions with the fix", err)
	}
	if _, err := NewSource(path, SourceOptions{Logger: slog.New(slog.DiscardHandler), InsecurePermissions: true}); err != nil {
		t.Fatalf("with InsecurePermissions: %v", err)
	}

	safe := filepath.Join(t.TempDir(), "keys.txt")
	writeRenamed(t, safe, oneKeyFile(secretA, 0))
	s := newTestSource(t, safe)
	before, _ := s.Schedule(time.Time{})
	writeRenamed(t, safe, oneKeyFile(secretB, 0))
	if err := os.Chmod(safe, 0o604); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, ErrInsecurePermissions) {
		t.Fatalf("reload of a world-readable file: %v", err)
	}
	if after, _ := s.Schedule(time.Time{}); after != before || notified(s) {
		t.Error("a refused file changed the schedule")
	}
}
