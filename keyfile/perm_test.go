//go:build unix

package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestCheckPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, []byte(Header+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode fs.FileMode
		want string // "" for accepted
	}{
		{0o600, ""},
		{0o400, ""},
		{0o640, ""},
		{0o440, ""},
		{0o700, ""},
		{0o644, "readable by other users (mode 0644)"},
		{0o604, "readable by other users (mode 0604)"},
		{0o660, "writable by its group (mode 0660)"},
		{0o620, "writable by its group (mode 0620)"},
		{0o602, "writable by other users (mode 0602)"},
		{0o666, "writable by other users (mode 0666)"},
		{0o601, "readable by other users (mode 0601)"},
	}
	for _, tt := range tests {
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		err = CheckPermissions(path, fi)
		if tt.want == "" {
			if err != nil {
				t.Errorf("mode %04o: %v", tt.mode, err)
			}
			continue
		}
		var pe *PermissionError
		if !errors.Is(err, ErrInsecurePermissions) || !errors.As(err, &pe) || pe.Mode != tt.mode {
			t.Errorf("mode %04o: error %v, want a PermissionError", tt.mode, err)
			continue
		}
		for _, want := range []string{"keyfile: " + path + " is " + tt.want, "chmod 0600 " + path, "chmod 0640"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: error %q lacks %q", tt.mode, err, want)
			}
		}
	}
}

// otherGroup returns a group other than the process's primary group that
// the process may give its files: nogroup (or nobody) as root, else one
// of the user's supplementary groups. It reports false if there is none.
func otherGroup(t *testing.T) (int, bool) {
	t.Helper()
	if os.Getuid() == 0 {
		for _, name := range []string{"nogroup", "nobody"} {
			if g, err := user.LookupGroup(name); err == nil {
				gid, _ := strconv.Atoi(g.Gid)
				return gid, true
			}
		}
		return 65534, true
	}
	u, err := user.Current()
	if err != nil {
		return 0, false
	}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if gid, err := strconv.Atoi(g); err == nil && gid != os.Getgid() {
			return gid, true
		}
	}
	return 0, false
}

func TestReplaceFileKeepsModeAndOwner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	gid, ok := otherGroup(t)
	if ok {
		if err := os.Chown(path, os.Getuid(), gid); err != nil {
			t.Fatal(err)
		}
	} else {
		gid = os.Getgid()
		t.Logf("no group other than %d to give the file: checking the mode and the primary group only", gid)
	}
	link := filepath.Join(dir, "current")
	if err := os.Symlink("keys.txt", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, link} {
		if err := ReplaceFile(p, []byte("new "+p+"\n")); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != "new "+p+"\n" {
			t.Fatalf("after ReplaceFile(%s): %q, %v", p, got, err)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != 0o640 || int(st.Gid) != gid || int(st.Uid) != os.Getuid() {
			t.Errorf("after ReplaceFile(%s): mode %v, owner %d:%d; want -rw-r-----, %d:%d", p, fi.Mode(), st.Uid, st.Gid, os.Getuid(), gid)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v, %v", fi, err)
	}
	// A new file is 0600, and no temporary file is left.
	fresh := filepath.Join(dir, "fresh.txt")
	if err := ReplaceFile(fresh, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode() != 0o600 {
		t.Errorf("new file: %v, %v", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("directory holds %d entries, want 3", len(entries))
	}
}
