// Command benchplot draws docs/performance.png from benchmark results in
// the Go benchmark format (the files `make bench` writes):
//
//	go run ./internal/tools/benchplot -o docs/performance.png bench/latest.txt
//
// It plots the median ns/op of seal's Seal/<AEAD>/<n> and Open/<AEAD>/<n>,
// BareAEAD/…/AES256GCM/<n> and crypto/tls's EncryptTicket/DecryptTicket
// (package benchmarks) against the plaintext size n, on log–log axes, one
// panel for sealing and one for opening. Results are read with
// golang.org/x/perf/benchfmt and summarised as benchstat does
// (golang.org/x/perf/benchmath).
package main

import (
	"flag"
	"fmt"
	"image/color"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	out := flag.String("o", "docs/performance.png", "write the plot to `file.png`")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchplot [-o file.png] results.txt...")
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "benchplot:", err)
		os.Exit(1)
	}
}

// samples maps panel ("Seal" or "Open") → series → size → ns/op values.
type samples map[string]map[string]map[int][]float64

func run(out string, files []string) error {
	s, err := read(files)
	if err != nil {
		return err
	}
	panels := [][]*plot.Plot{make([]*plot.Plot, 2)}
	for i, panel := range []string{"Seal", "Open"} {
		if len(s[panel]) == 0 {
			return fmt.Errorf("no %s results in %v", panel, files)
		}
		if panels[0][i], err = draw1(panel, s[panel]); err != nil {
			return err
		}
	}
	img := vgimg.New(12*vg.Inch, 5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	canvases := plot.Align(panels, tiles, dc)
	panels[0][0].Draw(canvases[0][0])
	panels[0][1].Draw(canvases[0][1])
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// read collects the ns/op values of the plotted benchmarks.
func read(files []string) (samples, error) {
	s := samples{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		r := benchfmt.NewReader(f, name)
		for r.Scan() {
			res, ok := r.Result().(*benchfmt.Result)
			if !ok {
				continue
			}
			panel, series, size, ok := classify(res)
			if v, has := res.Value("sec/op"); ok && has {
				if s[panel] == nil {
					s[panel] = map[string]map[int][]float64{}
				}
				if s[panel][series] == nil {
					s[panel][series] = map[int][]float64{}
				}
				s[panel][series][size] = append(s[panel][series][size], v*1e9)
			}
		}
		f.Close()
		if err := r.Err(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// classify returns the panel, series and size of a plotted result.
func classify(res *benchfmt.Result) (panel, series string, size int, ok bool) {
	base, parts := res.Name.Parts()
	var p []string
	for _, part := range parts {
		if part[0] == '/' {
			p = append(p, string(part[1:]))
		}
	}
	pkg := res.GetConfig("pkg")
	switch {
	case strings.HasSuffix(pkg, "/seal") && (string(base) == "Seal" || string(base) == "Open") && len(p) == 2:
		panel, series = string(base), p[0]
	case strings.HasSuffix(pkg, "/seal") && string(base) == "BareAEAD" && len(p) == 3 && p[1] == "AES256GCM":
		panel, series, p = p[0], "bare AES-256-GCM", p[1:]
	case strings.HasSuffix(pkg, "/benchmarks") && string(base) == "CryptoTLS" && len(p) == 2:
		panel, series = map[string]string{"EncryptTicket": "Seal", "DecryptTicket": "Open"}[p[0]], "crypto/tls"
	default:
		return "", "", 0, false
	}
	size, err := strconv.Atoi(p[len(p)-1])
	return panel, series, size, err == nil && panel != ""
}

// draw1 draws one panel: a line per series through the medians.
func draw1(panel string, series map[string]map[int][]float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = panel + " (median ns/op, log–log)"
	p.X.Label.Text = "plaintext bytes"
	p.Y.Label.Text = "ns/op"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	var xticks plot.ConstantTicks
	minY := math.Inf(1)
	for i, name := range slices.Sorted(maps.Keys(series)) {
		var xys plotter.XYs
		for _, size := range slices.Sorted(maps.Keys(series[name])) {
			sum := benchmath.AssumeNothing.Summary(benchmath.NewSample(series[name][size], &benchmath.DefaultThresholds), 0.95)
			xys = append(xys, plotter.XY{X: float64(size), Y: sum.Center})
			minY = min(minY, sum.Center)
			if !slices.ContainsFunc(xticks, func(t plot.Tick) bool { return t.Value == float64(size) }) {
				xticks = append(xticks, plot.Tick{Value: float64(size), Label: strconv.Itoa(size)})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		points.Color, points.Shape = plotutil.Color(i), plotutil.Shape(i)
		if name == "crypto/tls" {
			line.Color, points.Color = color.Black, color.Black
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line, points)
		p.Legend.Add(name, line, points)
	}
	// Leave the bottom decade free for the legend.
	p.X.Tick.Marker, p.Y.Min = xticks, minY/10
	return p, nil
}
