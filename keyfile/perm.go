package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrInsecurePermissions means a key file may be read by users other than
// its owner and its group, or written by users other than its owner. See
// [CheckPermissions].
var ErrInsecurePermissions = errors.New("keyfile: key file is accessible to other users")

// A PermissionError reports a key file whose mode lets other users read
// it, or lets its group or other users write it. It unwraps to
// [ErrInsecurePermissions].
type PermissionError struct {
	Path string      // the file, as the caller named it
	Mode fs.FileMode // its permission bits
}

// Error says what is wrong, why it matters and how to fix it.
func (e *PermissionError) Error() string {
	what := "readable by other users"
	switch {
	case e.Mode&0o002 != 0:
		what = "writable by other users"
	case e.Mode&0o004 == 0 && e.Mode&0o020 != 0:
		what = "writable by its group"
	}
	return fmt.Sprintf("keyfile: %s is %s (mode %04o): whoever reads a key file can decrypt every ticket of its keys, "+
		"and whoever writes it chooses them; run chmod 0600 %s, or chmod 0640 to let the server read it through its group",
		e.Path, what, uint32(e.Mode.Perm()), e.Path)
}

// Unwrap returns [ErrInsecurePermissions].
func (e *PermissionError) Unwrap() error { return ErrInsecurePermissions }

// insecureBits are the permission bits a key file must not have: any
// access by others, and write access by the group. Read access by the group
// is allowed, so that a server that is not the file's owner reads it
// through a dedicated group (0640 root:tlsticket), as with the keys of many
// daemons.
const insecureBits fs.FileMode = 0o027

// CheckPermissions returns a [*PermissionError] if fi, the [fs.FileInfo] of
// the key file at path, lets users other than its owner and its group read
// it, or anyone but its owner write it: that is, unless its mode is 0600,
// 0640 or stricter. path names the file in the error. Call it on the
// FileInfo of the opened file (f.Stat), not of the path, so that the file
// checked is the file read.
//
// On Windows the mode bits do not describe who can read a file, and
// CheckPermissions returns nil.
func CheckPermissions(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" || fi.Mode().Perm()&insecureBits == 0 {
		return nil
	}
	return &PermissionError{Path: path, Mode: fi.Mode().Perm()}
}

// ReplaceFile replaces the file at path with data, atomically: it writes a
// temporary file in the same directory, gives it the mode, owner and group
// of the file it replaces (mode 0600 and the process's owner and group if
// there is none), syncs it to disk, renames it over path and syncs the
// directory. A reader sees the old file or the new one, never a mix, and
// keeps its access through the group. If path is a symbolic link, the file
// it points to is replaced and the link kept. If the owner or group cannot
// be kept (a process that is not root replacing a file of another user),
// ReplaceFile fails and leaves the file as it was.
func ReplaceFile(path string, data []byte) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := fs.FileMode(0o600)
	old, err := os.Stat(path)
	switch {
	case err == nil:
		mode = old.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("keyfile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after the rename there is nothing to remove
	if err := writeTemp(tmp, old, mode, data); err != nil {
		return fmt.Errorf("keyfile: failed to replace %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync() // best effort: some file systems cannot sync a directory
		dir.Close()
	}
	return nil
}

// writeTemp gives tmp the mode, and the owner and group of old if there is
// an old file, writes data, syncs and closes it.
func writeTemp(tmp *os.File, old fs.FileInfo, mode fs.FileMode, data []byte) error {
	// The mode first, before any secret is written: CreateTemp makes the
	// file 0600, and a mode of the old file may be stricter.
	err := tmp.Chmod(mode)
	if err == nil && old != nil {
		err = keepOwner(tmp, old)
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	return err
}
