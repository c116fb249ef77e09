package benchsuite

import (
	"image"
	"image/color"
	"os"
	"strconv"

	"github.com/tlsticket/tlsticket/internal/plot"
)

// The size in pixels of the image [Plot] renders.
const (
	PlotWidth  = 1600
	PlotHeight = 640
)

// Charts returns the throughput charts of the results: MB/s against state
// size for Seal (next to crypto/tls's EncryptTicket) and for Open (next to
// DecryptTicket), one line per AEAD. Points not measured are left out.
func Charts(s *Set) []*plot.Chart {
	var xs []float64
	for _, n := range Sizes() {
		xs = append(xs, float64(n))
	}
	chart := func(title, op, tlsOp string) *plot.Chart {
		c := &plot.Chart{
			Title: title,
			X:     plot.Axis{Label: "state size (bytes, log scale)", Log: true, Ticks: xs},
			Y:     plot.Axis{Label: "throughput (MB/s, log scale)", Log: true},
		}
		for i, a := range aeads {
			c.Series = append(c.Series, series(s, a.name(), plot.Color(i), false, func(n string) string {
				return op + "/" + a.name() + "/" + n
			}))
		}
		c.Series = append(c.Series, series(s, "crypto/tls "+tlsOp, color.RGBA{0, 0, 0, 255}, true, func(n string) string {
			return "CryptoTLS/" + tlsOp + "/" + n
		}))
		return c
	}
	return []*plot.Chart{
		chart("Seal: tlsticket vs crypto/tls", "Seal", "EncryptTicket"),
		chart("Open: tlsticket vs crypto/tls", "Open", "DecryptTicket"),
	}
}

// series returns the MB/s of the benchmarks name(size) for every size.
func series(s *Set, label string, c color.RGBA, dashed bool, name func(size string) string) plot.Series {
	ser := plot.Series{Name: label, Color: c, Dashed: dashed}
	for _, n := range Sizes() {
		r, ok := s.Get(name(strconv.Itoa(n)))
		if !ok || r.MBPerSec == 0 {
			continue
		}
		ser.X = append(ser.X, float64(n))
		ser.Y = append(ser.Y, r.MBPerSec)
	}
	return ser
}

// Plot renders [Charts] of s side by side.
func Plot(s *Set) *image.RGBA {
	return plot.Render(PlotWidth, PlotHeight, Charts(s)...)
}

// WritePlot renders the throughput plot of s to the PNG file name.
func WritePlot(name string, s *Set) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := plot.Encode(f, Plot(s)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
