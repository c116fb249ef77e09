package main

// The key management commands: keygen, rotate, export, import and keypair
// (inspect, which reads tickets, is in inspect.go and shares the helpers
// here). Each is a func(args, stdout, stderr) int that returns the exit
// code: 0 on success, 1 on failure, 2 for bad usage. None prints a secret
// unless asked to (keygen -o -, import without -o, inspect -show-secrets). Every new file that holds a secret is written with mode
// 0600; a replaced key file keeps its mode, owner and group.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tlsticket/tlsticket/keydist"
	"github.com/tlsticket/tlsticket/keyfile"
	"github.com/tlsticket/tlsticket/seal"
)

// keysNow returns the time of a -now flag: RFC 3339, or the current time
// in whole seconds if empty, so that key files hold no fractions of a
// second that nobody asked for.
func keysNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageErr("-now: want an RFC 3339 time such as 2030-01-02T15:04:05Z")
	}
	return t, nil
}

// keySchedule holds the timing flags shared by keygen and rotate.
type keySchedule struct {
	aead                            string
	rotation, announce, decryptOnly time.Duration
}

func (s *keySchedule) register(fs *flag.FlagSet) {
	fs.StringVar(&s.aead, "aead", seal.DefaultAEAD.String(), "`AEAD` of the new keys: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, XChaCha20-Poly1305 or XAES-256-GCM")
	fs.DurationVar(&s.rotation, "rotation", seal.DefaultRotation, "how long each key seals (its active phase)")
	fs.DurationVar(&s.announce, "announce", seal.DefaultAnnounce, "how long each key opens before it seals")
	fs.DurationVar(&s.decryptOnly, "decrypt-only", seal.DefaultDecryptOnly, "how long each key opens after it stops sealing")
}

func (s *keySchedule) check() error {
	if s.rotation <= 0 || s.announce < 0 || s.decryptOnly < 0 {
		return usageErr("-rotation must be positive, -announce and -decrypt-only not negative")
	}
	return nil
}

// phases returns the phases of a key announced at announce and active from
// activate for the rotation.
func (s *keySchedule) phases(announce, activate time.Time) seal.Phases {
	end := activate.Add(s.rotation)
	return seal.Phases{Announce: announce, Activate: activate, DecryptOnly: end, Retire: end.Add(s.decryptOnly)}
}

// writeNew writes data to a new file at path with mode perm, refusing to
// replace an existing file, or to stdout if path is "-".
func writeNew(path string, data []byte, perm os.FileMode, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// readEntries reads the key file at path, whatever its permissions.
func readEntries(path string) ([]keyfile.KeyEntry, error) {
	return readKeyFile(path, true)
}

// readKeyFile reads the key file at path. Unless insecure, it refuses a
// file that users other than its owner and group can read
// ([keyfile.CheckPermissions]).
func readKeyFile(path string, insecure bool) ([]keyfile.KeyEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !insecure {
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if err := keyfile.CheckPermissions(path, fi); err != nil {
			return nil, fmt.Errorf("%w (or give -insecure-key-perms to use it anyway)", err)
		}
	}
	entries, err := keyfile.ParseEntries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// clearEntries clears the secrets of entries.
func clearEntries(entries []keyfile.KeyEntry) {
	for i := range entries {
		entries[i].Clear()
	}
}

// encodeEntries returns the key file of entries. The caller clears it.
func encodeEntries(entries []keyfile.KeyEntry) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(keyfile.Header) + 1 + 256*len(entries)) // no copies left by growing
	if err := keyfile.Write(&b, entries); err != nil {
		clear(b.Bytes()[:b.Cap()])
		return nil, err
	}
	return b.Bytes(), nil
}

// cmdKeygen is `ticketctl keygen`: it writes a new key file of -count keys
// chained in time, in tlsticket's format (the first key active at -now,
// each next one announced -announce before the previous one stops
// sealing), or a raw nginx ssl_session_ticket_key (48 or 80 bytes) or an
// HAProxy tls-ticket-keys file (base64 lines of 48 or 80 bytes, at least
// 3), to the new file -o with mode 0600, or to stdout with -o -.
func cmdKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("keygen", "[-format tlsticket|nginx48|nginx80|haproxy|haproxy80] [-count n] [-aead name] [-rotation d] [-announce d] [-decrypt-only d] [-now time] -o file|-")
	var sch keySchedule
	sch.register(fs.FlagSet)
	formatName := fs.String("format", "tlsticket", "key file `format`: tlsticket, nginx48, nginx80, haproxy (48-byte keys) or haproxy80")
	count := fs.Int("count", 0, "number of keys (default 1, or 3 for haproxy)")
	now := fs.String("now", "", "activation `time` of the first key, RFC 3339 (default: now, in whole seconds)")
	out := fs.String("o", "", "write to `file` (mode 0600, must not exist), or to stdout if -: required, the keys are secret")
	err := fs.parse(args, 0, stdout)
	if err == nil && *formatName != "tlsticket" {
		// The flags of tlsticket's schedule mean nothing to nginx or
		// HAProxy: refuse them rather than ignore them.
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "aead", "rotation", "announce", "decrypt-only", "now":
				if err == nil {
					err = usageErr("-%s applies to -format tlsticket only: nginx and HAProxy keys are AES-CBC and HMAC-SHA256, rotated by reloading", f.Name)
				}
			}
		})
	}
	if err == nil {
		err = keysGen(&sch, *formatName, *count, *now, *out, stdout)
	}
	return exit("keygen", err, stderr)
}

func keysGen(sch *keySchedule, formatName string, count int, nowFlag, out string, stdout io.Writer) error {
	if out == "" {
		return usageErr("-o is required: give a new file, or -o - to print the secret keys to stdout")
	}
	var data []byte
	defer func() { clear(data) }()
	switch formatName {
	case "tlsticket":
		a, err := seal.ParseAEAD(sch.aead)
		if err != nil {
			return usageErr("-aead: %v", err)
		}
		if err := sch.check(); err != nil {
			return err
		}
		now, err := keysNow(nowFlag)
		if err != nil {
			return err
		}
		if count == 0 {
			count = 1
		}
		if count < 1 || count > 1000 {
			return usageErr("-count must be 1 to 1000")
		}
		entries := make([]keyfile.KeyEntry, 0, count)
		defer func() { clearEntries(entries) }()
		for i := range count {
			activate := now.Add(time.Duration(i) * sch.rotation)
			announce := activate.Add(-sch.announce)
			if i == 0 {
				announce = activate // nothing else holds it: it seals at once
			}
			e, err := keyfile.GenerateEntry(a, sch.phases(announce, activate), nil)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		if data, err = encodeEntries(entries); err != nil {
			return err
		}
	case "nginx48", "nginx80":
		if count > 1 {
			return usageErr("nginx reads one key per file: -count must be 1")
		}
		if out == "-" && isTerminal(stdout) {
			return usageErr("refusing to write a raw binary key to a terminal: redirect stdout, or give -o file")
		}
		data = make([]byte, map[string]int{"nginx48": 48, "nginx80": 80}[formatName])
		rand.Read(data)
	case "haproxy", "haproxy80":
		if count == 0 {
			count = keyfile.HAProxyTicketsNo
		}
		if count < keyfile.HAProxyTicketsNo || count > 1000 {
			return usageErr("HAProxy needs -count %d to 1000 keys", keyfile.HAProxyTicketsNo)
		}
		size := map[string]int{"haproxy": 48, "haproxy80": 80}[formatName]
		raw := make([]byte, size)
		defer clear(raw)
		for range count {
			rand.Read(raw)
			data = base64.StdEncoding.AppendEncode(data, raw)
			data = append(data, '\n')
		}
	default:
		return usageErr("unknown -format %q", formatName)
	}
	return writeNew(out, data, 0o600, stdout)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// cmdRotate is `ticketctl rotate`: it reads the key file -keys and, if no
// key seals at -now plus -ahead (or with -force), drops the keys retired at
// -now and appends a new key that activates when the last key stops
// sealing (or -announce after -now, if that is later, so that every member
// holds it for the whole announce period). It replaces the file atomically,
// keeping its mode, owner and group. Otherwise it prints "nothing to do"
// and leaves the file alone, so that it is safe to run from cron as often
// as one likes (at least once per -rotation).
func cmdRotate(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("rotate", "-keys file [-force] [-ahead d] [-insecure-key-perms] [-aead name] [-rotation d] [-announce d] [-decrypt-only d] [-now time]")
	var sch keySchedule
	sch.register(fs.FlagSet)
	var o rotateOptions
	fs.StringVar(&o.path, "keys", "", "key `file` to rotate, in tlsticket's format (required)")
	fs.StringVar(&o.now, "now", "", "current `time`, RFC 3339 (default: now, in whole seconds)")
	fs.BoolVar(&o.force, "force", false, "add a key even if the schedule does not need one")
	fs.DurationVar(&o.ahead, "ahead", 0, "add a key only when no key seals at now plus this `duration` (default: the -announce period)")
	fs.BoolVar(&o.insecure, "insecure-key-perms", false, "use a key file that other users can read, or its group write")
	err := fs.parse(args, 0, stdout)
	if err == nil {
		fs.Visit(func(f *flag.Flag) {
			o.aeadSet = o.aeadSet || f.Name == "aead"
			o.aheadSet = o.aheadSet || f.Name == "ahead"
			if f.Name == "ahead" && o.ahead < 0 {
				err = usageErr("-ahead must not be negative")
			}
		})
	}
	if err == nil {
		err = keysRotate(&sch, &o, stdout)
	}
	return exit("rotate", err, stderr)
}

// rotateOptions are the flags of rotate besides the schedule's.
type rotateOptions struct {
	path, now         string
	aeadSet, aheadSet bool
	force, insecure   bool
	ahead             time.Duration // if !aheadSet, the announce period
}

func keysRotate(sch *keySchedule, o *rotateOptions, stdout io.Writer) error {
	if o.path == "" {
		return usageErr("-keys is required")
	}
	if err := sch.check(); err != nil {
		return err
	}
	now, err := keysNow(o.now)
	if err != nil {
		return err
	}
	if !o.aheadSet {
		o.ahead = sch.announce
	}
	path := o.path
	entries, err := readKeyFile(path, o.insecure)
	defer func() { clearEntries(entries) }()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s: %w", path, keyfile.ErrNoKeys)
	}
	unretired := func() []keyfile.KeyEntry {
		return slices.DeleteFunc(slices.Clone(entries), func(e keyfile.KeyEntry) bool { return e.At(now) == seal.PhaseRetired })
	}
	kept := unretired()
	dropped := len(entries) - len(kept)
	horizon := now.Add(o.ahead)
	if sealer := slices.IndexFunc(entries, func(e keyfile.KeyEntry) bool { return e.At(horizon) == seal.PhaseActive }); sealer >= 0 && !o.force {
		if dropped == 0 {
			fmt.Fprintf(stdout, "%s: nothing to do: key %d seals at %s (-force adds a key anyway)\n", path, sealer+1, keysStamp(horizon))
			return nil
		}
		if err := writeEntries(path, kept); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: dropped %d retired keys, no key to add: key %d seals at %s; %d keys\n", path, dropped, sealer+1, keysStamp(horizon), len(kept))
		return nil
	}
	e, note, err := nextEntry(sch, o.aeadSet, entries, now)
	if err != nil {
		return err
	}
	entries = append(entries, e) // cleared on return with the others
	kept = unretired()           // after nextEntry, which may extend the last key
	if err := writeEntries(path, kept); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: dropped %d retired keys, added %v announce=%s activate=%s%s; %d keys\n",
		path, dropped, e.AEAD, keysStamp(e.Announce), keysStamp(e.Activate), note, len(kept))
	return nil
}

// nextEntry returns the key that follows entries: it activates when the
// key that seals longest stops, announced -announce before, and not less
// than -announce after now (that key then seals longer: entries is
// updated). Its AEAD is -aead if given, else that of the last key.
func nextEntry(sch *keySchedule, aeadSet bool, entries []keyfile.KeyEntry, now time.Time) (keyfile.KeyEntry, string, error) {
	last := slices.IndexFunc(entries, func(e keyfile.KeyEntry) bool {
		return !slices.ContainsFunc(entries, func(o keyfile.KeyEntry) bool { return o.DecryptOnly.After(e.DecryptOnly) })
	})
	a := entries[last].AEAD
	if aeadSet {
		var err error
		if a, err = seal.ParseAEAD(sch.aead); err != nil {
			return keyfile.KeyEntry{}, "", usageErr("-aead: %v", err)
		}
	}
	sealsUntil := entries[last].DecryptOnly
	activate, announce := sealsUntil, sealsUntil.Add(-sch.announce)
	var note string
	switch earliest := now.Add(sch.announce); {
	case !sealsUntil.After(now):
		// No key seals: the new one seals at once, before other members
		// can hold it; their tickets from it give full handshakes.
		activate, announce = now, now
		note = " (no key was sealing: the new key seals at once)"
	case sealsUntil.Before(earliest):
		// Give every member the whole announce period: the last key
		// seals until the new one activates.
		activate, announce = earliest, now
		d := earliest.Sub(sealsUntil)
		entries[last].DecryptOnly = earliest
		entries[last].Retire = entries[last].Retire.Add(d)
		note = fmt.Sprintf(" (the previous key seals %v longer)", d)
	}
	e, err := keyfile.GenerateEntry(a, sch.phases(announce, activate), nil)
	return e, note, err
}

// writeEntries replaces the key file at path with entries.
func writeEntries(path string, entries []keyfile.KeyEntry) error {
	data, err := encodeEntries(entries)
	defer clear(data)
	if err != nil {
		return err
	}
	return keyfile.ReplaceFile(path, data)
}

// keysStamp formats t in UTC, RFC 3339.
func keysStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// readKeyText reads a key file written by keypair: the text form of a key
// and one newline. The caller clears the result.
func readKeyText(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b, []byte("\n")), nil
}

// cmdExport is `ticketctl export`: it seals the keys of a key file to a
// member's public key, signed by the publisher's key, as a bundle of
// -fleet at -epoch, and writes the sealed bundle to -o or stdout.
func cmdExport(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("export", "-keys file -to member.pub -signer publisher.key -fleet name [-epoch n] [-o file]")
	keysFile := fs.String("keys", "", "key `file` to export (required)")
	to := fs.String("to", "", "the member's public key `file` (required)")
	signer := fs.String("signer", "", "the publisher's private key `file` (required)")
	fleet := fs.String("fleet", "", "fleet `name` (required)")
	epoch := fs.Uint64("epoch", 0, "publication `number`, greater than the last one the member installed (default: the Unix time in seconds)")
	out := fs.String("o", "", "write the sealed bundle to `file` instead of stdout")
	err := fs.parse(args, 0, stdout)
	if err == nil {
		err = keysExport(*keysFile, *to, *signer, *fleet, *epoch, *out, stdout)
	}
	return exit("export", err, stderr)
}

func keysExport(keysFile, to, signer, fleet string, epoch uint64, out string, stdout io.Writer) error {
	if keysFile == "" || to == "" || signer == "" || fleet == "" {
		return usageErr("-keys, -to, -signer and -fleet are required")
	}
	if epoch == 0 {
		epoch = uint64(time.Now().Unix())
	}
	text, err := readKeyText(to)
	if err != nil {
		return err
	}
	member, err := keydist.ParseMemberPublicKeyText(text)
	if err != nil {
		return fmt.Errorf("%s: %w", to, err)
	}
	text, err = readKeyText(signer)
	defer clear(text)
	if err != nil {
		return err
	}
	publisher, err := keydist.ParsePublisherKeyText(text)
	if err != nil {
		return fmt.Errorf("%s: %w", signer, err)
	}
	entries, err := readEntries(keysFile)
	defer func() { clearEntries(entries) }()
	if err != nil {
		return err
	}
	sealed, err := keydist.Seal(&keydist.Bundle{Fleet: fleet, Epoch: epoch, Keys: entries}, member, publisher, nil)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(sealed)
		return err
	}
	if err := os.WriteFile(out, sealed, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: fleet %s epoch %d, %d keys, sealed to member %v\n", out, fleet, epoch, len(entries), member.ID())
	return nil
}

// cmdImport is `ticketctl import`: it opens a sealed bundle with the
// member's private key, checks the publisher's signature, the fleet and
// that the epoch is greater than -after, and writes its keys as a key file
// to -o (replaced atomically, mode 0600) or stdout.
func cmdImport(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("import", "-in bundle -member member.key -publisher publisher.pub -fleet name [-after n] [-o file]")
	in := fs.String("in", "", "sealed bundle `file` (required)")
	memberFile := fs.String("member", "", "the member's private key `file` (required)")
	publisherFile := fs.String("publisher", "", "the publisher's public key `file` (required)")
	fleet := fs.String("fleet", "", "the member's fleet `name` (required)")
	after := fs.Uint64("after", 0, "refuse a bundle whose epoch is not greater than this `epoch`, the last one installed")
	out := fs.String("o", "", "write the key file to `file` (mode 0600) instead of stdout")
	err := fs.parse(args, 0, stdout)
	if err == nil {
		err = keysImport(*in, *memberFile, *publisherFile, *fleet, *after, *out, stdout)
	}
	return exit("import", err, stderr)
}

func keysImport(in, memberFile, publisherFile, fleet string, after uint64, out string, stdout io.Writer) error {
	if in == "" || memberFile == "" || publisherFile == "" || fleet == "" {
		return usageErr("-in, -member, -publisher and -fleet are required")
	}
	text, err := readKeyText(memberFile)
	defer clear(text)
	if err != nil {
		return err
	}
	member, err := keydist.ParseMemberKeyText(text)
	if err != nil {
		return fmt.Errorf("%s: %w", memberFile, err)
	}
	ptext, err := readKeyText(publisherFile)
	if err != nil {
		return err
	}
	publisher, err := keydist.ParsePublisherPublicKeyText(ptext)
	if err != nil {
		return fmt.Errorf("%s: %w", publisherFile, err)
	}
	sealed, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, err := keydist.Open(sealed, member, publisher, after)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	defer b.Clear()
	if b.Fleet != fleet {
		return fmt.Errorf("%s: %w: %q, not %q", in, keydist.ErrWrongFleet, b.Fleet, fleet)
	}
	data, err := encodeEntries(b.Keys)
	defer clear(data)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	if err := keyfile.ReplaceFile(out, data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: fleet %s epoch %d, %d keys\n", out, b.Fleet, b.Epoch, len(b.Keys))
	return nil
}

// cmdKeypair is `ticketctl keypair`: it generates a member key pair (X-Wing,
// to which bundles are sealed) or a publisher key pair (Ed25519, which
// signs them) and writes the public key to -pub (mode 0644) and the private
// key to -priv (mode 0600). Neither file may exist.
func cmdKeypair(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("keypair", "[-kind member|publisher] -pub file -priv file")
	kind := fs.String("kind", "member", "`kind` of key pair: member (X-Wing) or publisher (Ed25519)")
	pub := fs.String("pub", "", "public key `file` to create (required)")
	priv := fs.String("priv", "", "private key `file` to create, mode 0600 (required)")
	err := fs.parse(args, 0, stdout)
	if err == nil {
		err = keysKeypair(*kind, *pub, *priv, stdout)
	}
	return exit("keypair", err, stderr)
}

func keysKeypair(kind, pub, priv string, stdout io.Writer) error {
	if pub == "" || priv == "" {
		return usageErr("-pub and -priv are required")
	}
	var pubText, privText []byte
	var id keydist.KeyID
	switch kind {
	case "member":
		k, err := keydist.GenerateMemberKey(nil)
		if err != nil {
			return err
		}
		pubText, _ = k.Public().MarshalText()
		privText, _ = k.MarshalText()
		id = k.Public().ID()
	case "publisher":
		k, err := keydist.GeneratePublisherKey(nil)
		if err != nil {
			return err
		}
		pubText, _ = k.Public().MarshalText()
		privText, _ = k.MarshalText()
		id = k.Public().ID()
	default:
		return usageErr("-kind must be member or publisher")
	}
	privText = append(privText, '\n')
	defer clear(privText)
	if err := writeNew(priv, privText, 0o600, nil); err != nil {
		return err
	}
	if err := writeNew(pub, append(pubText, '\n'), 0o644, nil); err != nil {
		os.Remove(priv)
		return err
	}
	fmt.Fprintf(stdout, "%s key pair %s: public %s, private %s\n", kind, id, pub, priv)
	return nil
}
