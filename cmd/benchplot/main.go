// Command benchplot draws the throughput plot of docs/performance.md from
// the output of the benchmark suite under go test:
//
//	go test -run='^$' -bench=. -benchmem -count=5 ./benchmarks > bench.txt
//	go run ./cmd/benchplot -o docs/performance.png bench.txt
//
// With no file it reads standard input. Repeated runs (-count) are merged
// into their medians. -md also prints the 256-byte comparison and the
// targets as Markdown tables. `ticketctl bench -plot` draws the same plot from a
// run of its own.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tlsticket/tlsticket/internal/benchsuite"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchplot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "docs/performance.png", "write the PNG to `file`")
	md := fs.Bool("md", false, "also print the 256-byte table and the targets as Markdown")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchplot [-o file.png] [-md] [go-test-bench-output ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var runs []benchsuite.Result
	inputs := fs.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	for _, name := range inputs {
		rs, err := parse(name, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "benchplot:", err)
			return 1
		}
		runs = append(runs, rs...)
	}
	if len(runs) == 0 {
		fmt.Fprintln(stderr, "benchplot: no benchmark results in the input")
		return 1
	}
	results := benchsuite.Merge(runs)
	if err := benchsuite.WritePlot(*out, benchsuite.NewSet(results)); err != nil {
		fmt.Fprintln(stderr, "benchplot:", err)
		return 1
	}
	if *md {
		if err := benchsuite.WriteMarkdown(stdout, results); err != nil {
			fmt.Fprintln(stderr, "benchplot:", err)
			return 1
		}
	}
	return 0
}

// parse reads the benchmark results of the file name, or of stdin for "-".
func parse(name string, stdin io.Reader) ([]benchsuite.Result, error) {
	if name == "-" {
		return benchsuite.ParseGoTest(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return benchsuite.ParseGoTest(f)
}
