package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"

	"github.com/tlsticket/tlsticket/internal/benchsuite"
)

// bench runs the benchmark suite of internal/benchsuite through
// testing.Benchmark and reports it: `ticketctl bench [-filter re]
// [-benchtime d] [-count n] [-plot file.png] [-json]`. It returns the exit
// code: 0, 1 if a benchmark failed or the plot could not be written, 2 for
// bad flags. Missed performance targets are reported, not failures.
func bench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketctl bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	filter := fs.String("filter", "", "run only the benchmarks whose name (such as Seal/AES128GCM/256) matches `regexp`")
	benchtime := fs.String("benchtime", "1s", "run each benchmark for `d` (a duration, or Nx for N iterations)")
	count := fs.Int("count", 1, "run each benchmark `n` times and report the medians")
	plotFile := fs.String("plot", "", "write the throughput plot (MB/s against state size) to `file.png`")
	jsonOut := fs.Bool("json", false, "print the results as JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ticketctl bench [-filter regexp] [-benchtime d] [-count n] [-plot file.png] [-json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *count < 1 {
		fs.Usage()
		return 2
	}
	opts := benchsuite.Options{Benchtime: *benchtime, Count: *count, Progress: stderr}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			fmt.Fprintln(stderr, "ticketctl bench: -filter:", err)
			return 2
		}
		opts.Filter = re
	}
	runs, failed, err := benchsuite.Run(opts)
	if err != nil {
		fmt.Fprintln(stderr, "ticketctl bench:", err)
		return 2
	}
	if len(runs) == 0 && len(failed) == 0 {
		fmt.Fprintln(stderr, "ticketctl bench: no benchmark matches", *filter)
		return 2
	}
	results := benchsuite.Merge(runs)
	env := benchsuite.CurrentEnv()
	env.Benchtime, env.Count = *benchtime, *count
	if *jsonOut {
		err = benchsuite.WriteJSON(stdout, env, results, failed)
	} else {
		err = benchsuite.WriteTable(stdout, env, results, failed)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ticketctl bench:", err)
		return 1
	}
	if *plotFile != "" {
		if err := benchsuite.WritePlot(*plotFile, benchsuite.NewSet(results)); err != nil {
			fmt.Fprintln(stderr, "ticketctl bench: -plot:", err)
			return 1
		}
		fmt.Fprintln(stderr, "ticketctl bench: wrote", *plotFile)
	}
	if len(failed) > 0 {
		return 1
	}
	return 0
}
