package keyfile

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tlsticket/tlsticket/seal"
)

// DefaultPollInterval is how often [Source.Run] looks at its key file by
// default. A rewritten file takes effect within about this long.
const DefaultPollInterval = time.Second

// SourceOptions configures a [Source]. The zero value uses the defaults.
type SourceOptions struct {
	// PollInterval is how often [Source.Run] looks at the file. Zero or
	// less means DefaultPollInterval.
	PollInterval time.Duration

	// Logger receives the reloads (Info) and the files that cannot be
	// read or parsed (Warn). Records name the file, never key bytes. Nil
	// means slog.Default().
	Logger *slog.Logger

	// InsecurePermissions accepts a file that users other than its owner
	// and group may read or that its group may write. By default such a
	// file is refused ([CheckPermissions]), at start and at each reload.
	InsecurePermissions bool
}

// A Source is a key file as a [seal.KeySource]: a [seal.Rotator] made
// with [seal.NewSourceRotator] follows the schedule of the file, and the
// Source reads the file again when it changes, so that a server picks up
// a file rewritten by `ticketctl rotate`, or by any tool, without a
// restart.
//
// [Source.Run] looks at the file every [SourceOptions.PollInterval]: it
// reads it again when its identity (device and inode), size or
// modification time differ from the file it read last. This sees a file
// replaced by a rename (as `ticketctl rotate` writes it), a file rewritten
// in place, and a path that resolves through symbolic links to another
// file, as when Kubernetes updates a mounted Secret by swapping its
// "..data" link. [Source.Reload] reads the file at once, for SIGHUP.
//
// A file that cannot be read or parsed changes nothing: the Source keeps
// the schedule it has, and reports the error (from Reload and Poll, and
// logged by Run). After each schedule it installs, the Source notifies
// its Rotator through [Source.Changed].
//
// A Source is safe for concurrent use. It keeps no copy of the file: its
// keys live in the [seal.Schedule].
type Source struct {
	path    string
	opts    SourceOptions
	changed chan struct{} // buffered: one pending change

	mu        sync.Mutex // serialises reads of the file
	sched     *seal.Schedule
	info      os.FileInfo // the file last read, parsed or not
	statError bool        // the last Poll could not stat the file
}

var _ seal.Notifier = (*Source)(nil)

// NewSource reads the key file at path and returns a Source that follows
// it. It returns an error, naming path, if the file cannot be read or
// parsed.
func NewSource(path string, opts SourceOptions) (*Source, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Source{path: path, opts: opts, changed: make(chan struct{}, 1)}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the path of the key file.
func (s *Source) Path() string { return s.path }

// Schedule returns the schedule of the last key file that parsed, without
// the keys retired at now, which the Source drops: it implements
// [seal.KeySource]. It never fails.
func (s *Source) Schedule(now time.Time) (*seal.Schedule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sched = s.sched.Prune(now)
	return s.sched, nil
}

// Changed returns the channel on which the Source notifies each schedule
// it installs: it implements [seal.Notifier].
func (s *Source) Changed() <-chan struct{} { return s.changed }

// Reload reads the key file now, whether it changed or not, and installs
// its schedule. If the file cannot be read or parsed, Reload returns an
// error naming the file and the Source keeps its schedule.
func (s *Source) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read()
}

// Poll reads the key file again if it changed since it was last read, as
// [Source.Reload] does, and returns nil if it did not change. It reports a
// file that cannot be examined once, until it can be again.
func (s *Source) Poll() error {
	_, err := s.poll()
	return err
}

// poll is Poll, and reports whether it installed a new schedule.
func (s *Source) poll() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		if s.statError {
			return false, nil
		}
		s.statError = true
		return false, s.loadErr(err)
	}
	s.statError = false
	if s.info != nil && os.SameFile(s.info, fi) && fi.Size() == s.info.Size() && fi.ModTime().Equal(s.info.ModTime()) {
		return false, nil
	}
	if err := s.read(); err != nil {
		return false, err
	}
	return true, nil
}

// read reads and parses the file and, if it parses, installs its schedule
// and notifies. s.mu must be held.
func (s *Source) read() error {
	f, err := os.Open(s.path)
	if err != nil {
		return s.loadErr(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return s.loadErr(err)
	}
	s.info = fi // a file that fails to parse is not read again until it changes
	if !s.opts.InsecurePermissions {
		if err := CheckPermissions(s.path, fi); err != nil {
			return s.loadErr(err)
		}
	}
	sched, err := Parse(f)
	if err != nil {
		return s.loadErr(err)
	}
	s.sched = sched
	select {
	case s.changed <- struct{}{}:
	default: // a change is pending already
	}
	return nil
}

// loadErr returns the error of a failed load of the file.
func (s *Source) loadErr(err error) error {
	return fmt.Errorf("keyfile: failed to load %s (keeping the current keys): %w", s.path, err)
}

// Run calls [Source.Poll] every [SourceOptions.PollInterval] until ctx is
// done, and then returns ctx.Err(). It logs each reload and each error,
// and never stops on an error.
func (s *Source) Run(ctx context.Context) error {
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		loaded, err := s.poll()
		switch {
		case err != nil:
			s.opts.Logger.Warn("tlsticket keys: key file not loaded", slog.String("file", s.path), slog.Any("error", err))
		case loaded:
			s.mu.Lock()
			n := len(s.sched.Keys())
			s.mu.Unlock()
			s.opts.Logger.Info("tlsticket keys: key file loaded", slog.String("file", s.path), slog.Int("keys", n))
		}
	}
}
