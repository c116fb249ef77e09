package benchsuite

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteTable writes a readable report of the merged results: one table per
// group (ns/op, tickets/s, MB/s, allocs/op and the ratios to crypto/tls
// and to the raw AEAD), then the targets.
func WriteTable(w io.Writer, env Env, results []Result, failed []string) error {
	s := NewSet(results)
	fmt.Fprintf(w, "tlsticket bench: %s %s/%s, %s, GOMAXPROCS %d", env.GoVersion, env.OS, env.Arch, env.CPU, env.GOMAXPROCS)
	if env.Benchtime != "" {
		fmt.Fprintf(w, ", benchtime %s, count %d", env.Benchtime, env.Count)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, g := range Groups() {
		var rows []Result
		for _, r := range results {
			if strings.HasPrefix(r.Name, g+"/") {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		rate := "tickets/s"
		vsTLS := "vs crypto/tls"
		if g == "Handshakes" {
			rate, vsTLS = "handshakes/s", "vs CryptoTLS"
		}
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "%s\tns/op\t±\t%s\tMB/s\tallocs/op\t%s\tvs raw AEAD\t\n", leftPad(g), rate, vsTLS)
		for _, r := range rows {
			t, raw := s.Ratios(r)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				leftPad(r.Name+procSuffix(r.Procs)), num(r.NsPerOp), spread(r), num(r.OpsPerSec()),
				mbs(r.MBPerSec), num(r.AllocsPerOp), faster(t), times(raw))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n\"vs crypto/tls\": how many times faster than crypto/tls's EncryptTicket/DecryptTicket of the same state;")
	fmt.Fprintln(w, "\"vs raw AEAD\": time relative to the bare cipher.AEAD with a crypto/rand nonce; ± is the ns/op spread of the runs.")
	fmt.Fprintln(w, "\nTargets (reported, not enforced):")
	for _, t := range Targets(s) {
		fmt.Fprintf(w, "  %-8s %-44s %-14s (want %s)\n", verdict(t), t.Name, got(t), t.Want)
	}
	for _, name := range failed {
		fmt.Fprintf(w, "FAILED: %s (run go test -run='^$' -bench=. ./benchmarks for the error)\n", name)
	}
	return nil
}

// leftPad keeps a first column left-aligned in a right-aligned table.
func leftPad(name string) string {
	const width = 44
	if len(name) >= width {
		return name
	}
	return name + strings.Repeat(" ", width-len(name))
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func mbs(v float64) string {
	if v == 0 {
		return "-"
	}
	return num(v)
}

func spread(r Result) string {
	if r.Runs <= 1 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", r.Spread*100)
}

func faster(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return fmt.Sprintf("%.1fx faster", x)
}

func times(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return fmt.Sprintf("%.2fx", x)
}

func verdict(t Target) string {
	switch {
	case !t.Measured:
		return "[n/a]"
	case t.Met:
		return "[met]"
	}
	return "[MISSED]"
}

func got(t Target) string {
	if !t.Measured {
		return "not measured"
	}
	if t.Unit == "x" {
		return fmt.Sprintf("%.2fx", t.Got)
	}
	return fmt.Sprintf("%g %s", t.Got, t.Unit)
}

// jsonResult is a Result with its ratios, for WriteJSON.
type jsonResult struct {
	Result
	OpsPerSec   float64  `json:"ops_per_s"`
	VsCryptoTLS *float64 `json:"vs_crypto_tls,omitempty"`
	VsRaw       *float64 `json:"vs_raw_aead,omitempty"`
}

// WriteJSON writes the environment, the merged results with their ratios,
// the targets and the failed benchmarks as one JSON object.
func WriteJSON(w io.Writer, env Env, results []Result, failed []string) error {
	s := NewSet(results)
	out := struct {
		Env     Env          `json:"env"`
		Results []jsonResult `json:"results"`
		Targets []Target     `json:"targets"`
		Failed  []string     `json:"failed,omitempty"`
	}{Env: env, Failed: failed, Results: []jsonResult{}}
	for _, r := range results {
		jr := jsonResult{Result: r, OpsPerSec: r.OpsPerSec()}
		t, raw := s.Ratios(r)
		if !math.IsNaN(t) {
			jr.VsCryptoTLS = &t
		}
		if !math.IsNaN(raw) {
			jr.VsRaw = &raw
		}
		out.Results = append(out.Results, jr)
	}
	for _, t := range Targets(s) {
		if !t.Measured {
			t.Got = 0 // JSON has no NaN
		}
		out.Targets = append(out.Targets, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteMarkdown writes the 256-byte comparison and the targets of the
// merged results as Markdown tables, for docs/performance.md.
func WriteMarkdown(w io.Writer, results []Result) error {
	s := NewSet(results)
	row := func(name string) {
		r, ok := s.Get(name)
		if !ok {
			return
		}
		t, raw := s.Ratios(r)
		rate := num(r.OpsPerSec())
		if h, ok := r.Metrics["handshakes/s"]; ok {
			rate = num(h) + " hs/s"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name+procSuffix(r.Procs), num(r.NsPerOp),
			num(r.MinNsPerOp), spread(r), rate, mbs(r.MBPerSec), num(r.AllocsPerOp), faster(t), times(raw))
	}
	fmt.Fprintln(w, "| benchmark | ns/op (median) | min | spread | tickets/s | MB/s | allocs/op | vs crypto/tls | vs raw AEAD |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, op := range []string{"Seal", "Open"} {
		for _, c := range aeads {
			row(op + "/" + c.name() + "/256")
		}
	}
	for _, op := range []string{"Seal", "Open"} {
		for _, c := range aeads {
			row("RawAEAD/" + op + "/" + c.name() + "/256")
		}
	}
	row("CryptoTLS/EncryptTicket/256")
	row("CryptoTLS/DecryptTicket/256")
	for _, bm := range All() {
		switch bm.Group() {
		case "Engine", "RingSize", "Handshakes":
			row(bm.Name)
		case "Parallel":
			for _, r := range s.byName[bm.Name] {
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | | |\n", bm.Name+procSuffix(r.Procs), num(r.NsPerOp),
					num(r.MinNsPerOp), spread(r), num(r.OpsPerSec()), mbs(r.MBPerSec), num(r.AllocsPerOp))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | want | measured | met |")
	fmt.Fprintln(w, "|---|---|--:|---|")
	for _, t := range Targets(s) {
		met := "met"
		if !t.Measured {
			met = "not measured"
		} else if !t.Met {
			met = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Want, got(t), met)
	}
	return nil
}
