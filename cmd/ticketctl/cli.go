package main

// The command-line convention every subcommand follows, like the go
// command's, except that help is asked for, so it goes to stdout:
//
//   - exit 0 on success, and for -h, -help or `ticketctl help NAME`, which
//     print NAME's usage to stdout;
//   - exit 1 when the command fails (a missing or bad file, a handshake
//     server that cannot start); the message names the file;
//   - exit 2 for bad usage (an unknown flag, a bad flag value, flags that
//     do not go together, a stray argument): one message on stderr, then
//     the synopsis and where to read more.
//
// docs/operations.md documents it for operators.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errUsage marks an error as bad usage (exit code 2).
var errUsage = errors.New("usage")

// usageErr returns an error that exits with code 2.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// command is the flag set of a subcommand. It prints nothing by itself:
// parse prints the usage on -h, and exit prints errors, once.
type command struct {
	*flag.FlagSet
	name, synopsis string
}

// newCommand returns the flag set of subcommand name, whose arguments are
// described by synopsis.
func newCommand(name, synopsis string) *command {
	fs := flag.NewFlagSet("ticketctl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{FlagSet: fs, name: name, synopsis: synopsis}
}

// printUsage prints the command's synopsis, summary and flags to w.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace("usage: ticketctl "+c.name+" "+c.synopsis))
	if s := summaries[c.name]; s != "" {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	n := 0
	c.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	c.SetOutput(w)
	c.PrintDefaults()
	c.SetOutput(io.Discard)
}

// parse parses args, printing the usage to stdout and returning
// flag.ErrHelp on -h or -help, and refusing more than maxArgs positional
// arguments.
func (c *command) parse(args []string, maxArgs int, stdout io.Writer) error {
	if err := c.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(stdout)
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.NArg() > maxArgs {
		return usageErr("unexpected argument %q", c.Arg(maxArgs))
	}
	return nil
}

// exit reports err of subcommand name on stderr and returns the exit code.
func exit(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ticketctl %s: %s\nRun 'ticketctl help %s' for usage.\n",
			name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), name)
		return 2
	}
	fmt.Fprintf(stderr, "ticketctl %s: %v\n", name, err)
	return 1
}
