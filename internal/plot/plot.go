// Package plot draws simple line charts into PNG images with only the
// standard library: axes with tick labels, linear or logarithmic scales,
// grid lines, a legend, and text in a bitmap font of its own.
//
// It is made for the benchmark plots of tlsticket (throughput against
// state size), not as a general plotting library.
package plot

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
)

// A Series is one line of a chart: points (X[i], Y[i]) joined in order.
// Points that cannot be drawn (not finite, or not positive on a
// logarithmic axis) are skipped.
type Series struct {
	Name   string
	X, Y   []float64
	Color  color.RGBA
	Dashed bool
}

// An Axis is the scale of one direction of a chart.
type Axis struct {
	Label string
	// Log selects a base-10 logarithmic scale.
	Log bool
	// Ticks are the values labelled on the axis. Nil chooses them from the
	// range: multiples of 1, 2 or 5 times a power of ten on a linear axis,
	// powers of ten (and their 2 and 5 multiples over short ranges) on a
	// logarithmic one.
	Ticks []float64
	// Min and Max bound the axis. If both are zero, they are fitted to the
	// data and the ticks: a linear axis then starts at zero.
	Min, Max float64
}

// A Chart is a titled plot of series.
type Chart struct {
	Title  string
	X, Y   Axis
	Series []Series
}

// Scale is the size of a font pixel in text drawn by charts.
const Scale = 2

var (
	black     = color.RGBA{0, 0, 0, 255}
	white     = color.RGBA{255, 255, 255, 255}
	gridColor = color.RGBA{225, 225, 225, 255}
	axisColor = color.RGBA{60, 60, 60, 255}
)

// Color returns the i-th colour of a palette of distinguishable colours
// (Okabe and Ito's, for colour-blind readers), cycling after eight.
func Color(i int) color.RGBA {
	p := [...]color.RGBA{
		{0, 114, 178, 255},   // blue
		{213, 94, 0, 255},    // vermilion
		{0, 158, 115, 255},   // bluish green
		{204, 121, 167, 255}, // reddish purple
		{230, 159, 0, 255},   // orange
		{86, 180, 233, 255},  // sky blue
		{120, 120, 120, 255}, // grey
		{0, 0, 0, 255},       // black
	}
	return p[i%len(p)]
}

// Render draws the charts side by side on a white image of the given
// size.
func Render(width, height int, charts ...*Chart) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fillRect(img, img.Bounds(), white)
	if len(charts) == 0 {
		return img
	}
	w := width / len(charts)
	for i, c := range charts {
		c.Draw(img, image.Rect(i*w, 0, (i+1)*w, height))
	}
	return img
}

// Encode writes img to w as a PNG.
func Encode(w io.Writer, img image.Image) error {
	return png.Encode(w, img)
}

// scale maps data values of one axis to pixels.
type scale struct {
	log      bool
	min, max float64
	p0, p1   int // pixels of min and max
}

func (s scale) pixel(v float64) (int, bool) {
	if s.log {
		if v <= 0 {
			return 0, false
		}
		v = math.Log10(v)
	}
	lo, hi := s.min, s.max
	if s.log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || hi == lo {
		return 0, false
	}
	t := (v - lo) / (hi - lo)
	return s.p0 + int(math.Round(t*float64(s.p1-s.p0))), true
}

// Draw draws the chart into the rectangle r of img.
func (c *Chart) Draw(img *image.RGBA, r image.Rectangle) {
	th := TextHeight(Scale)
	xs := c.X.fit(c.Series, func(s Series) []float64 { return s.X })
	ys := c.Y.fit(c.Series, func(s Series) []float64 { return s.Y })
	xTicks, yTicks := c.X.ticks(xs.min, xs.max), c.Y.ticks(ys.min, ys.max)

	labelW := 0
	for _, t := range yTicks {
		labelW = max(labelW, TextWidth(formatTick(t), Scale))
	}
	plotArea := image.Rect(
		r.Min.X+16+th+12+labelW+10, // margin, y label, gap, tick labels, gap
		r.Min.Y+16+th*3/2+14,       // margin, title, gap
		r.Max.X-24,
		r.Max.Y-(16+th+12+th+10), // margin, x label, gap, tick labels, gap
	)
	xs.p0, xs.p1 = plotArea.Min.X, plotArea.Max.X-1
	ys.p0, ys.p1 = plotArea.Max.Y-1, plotArea.Min.Y

	// Title, centred above the plot area, at one and a half times the size.
	ts := Scale * 3 / 2
	if ts == Scale {
		ts++
	}
	DrawText(img, (plotArea.Min.X+plotArea.Max.X-TextWidth(c.Title, ts))/2, r.Min.Y+16, c.Title, ts, black)

	// Grid and tick labels.
	for _, t := range xTicks {
		px, ok := xs.pixel(t)
		if !ok || px < plotArea.Min.X || px >= plotArea.Max.X {
			continue
		}
		fillRect(img, image.Rect(px, plotArea.Min.Y, px+1, plotArea.Max.Y), gridColor)
		fillRect(img, image.Rect(px, plotArea.Max.Y, px+1, plotArea.Max.Y+6), axisColor)
		l := formatTick(t)
		DrawText(img, px-TextWidth(l, Scale)/2, plotArea.Max.Y+10, l, Scale, black)
	}
	for _, t := range yTicks {
		py, ok := ys.pixel(t)
		if !ok || py < plotArea.Min.Y || py >= plotArea.Max.Y {
			continue
		}
		fillRect(img, image.Rect(plotArea.Min.X, py, plotArea.Max.X, py+1), gridColor)
		fillRect(img, image.Rect(plotArea.Min.X-6, py, plotArea.Min.X, py+1), axisColor)
		l := formatTick(t)
		DrawText(img, plotArea.Min.X-10-TextWidth(l, Scale), py-TextHeight(Scale)*7/18, l, Scale, black)
	}
	// Axes.
	fillRect(img, image.Rect(plotArea.Min.X-1, plotArea.Min.Y, plotArea.Min.X, plotArea.Max.Y+1), axisColor)
	fillRect(img, image.Rect(plotArea.Min.X-1, plotArea.Max.Y, plotArea.Max.X, plotArea.Max.Y+1), axisColor)
	// Axis labels.
	DrawText(img, (plotArea.Min.X+plotArea.Max.X-TextWidth(c.X.Label, Scale))/2, r.Max.Y-16-th, c.X.Label, Scale, black)
	DrawTextUp(img, r.Min.X+16, (plotArea.Min.Y+plotArea.Max.Y+TextWidth(c.Y.Label, Scale))/2, c.Y.Label, Scale, black)

	clip := img.SubImage(plotArea.Inset(-3)).(*image.RGBA)
	for _, s := range c.Series {
		drawSeries(clip, s, xs, ys)
	}
	c.drawLegend(img, plotArea)
}

// fit returns the scale of the axis over the values of the series.
func (a Axis) fit(series []Series, values func(Series) []float64) scale {
	s := scale{log: a.Log, min: a.Min, max: a.Max}
	if a.Min != 0 || a.Max != 0 {
		return s
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ser := range series {
		for _, v := range values(ser) {
			if math.IsNaN(v) || math.IsInf(v, 0) || (a.Log && v <= 0) {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, t := range a.Ticks {
		lo, hi = min(lo, t), max(hi, t)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
		if a.Log {
			lo, hi = 1, 10
		}
	}
	if a.Log {
		// A margin of a fifth of a decade on each side.
		s.min, s.max = lo/math.Pow(10, 0.2), hi*math.Pow(10, 0.2)
		if a.Ticks == nil {
			s.min = math.Pow(10, math.Floor(math.Log10(lo)))
			s.max = math.Pow(10, math.Ceil(math.Log10(hi)))
		}
		return s
	}
	s.min = min(0, lo)
	step := niceStep((hi - s.min) / 5)
	s.max = math.Ceil(hi*1.02/step) * step
	if a.Ticks != nil {
		s.max = hi * 1.05
	}
	return s
}

// ticks returns the axis ticks between lo and hi.
func (a Axis) ticks(lo, hi float64) []float64 {
	if a.Ticks != nil {
		return a.Ticks
	}
	var ts []float64
	if a.Log {
		decades := math.Log10(hi / lo)
		for p := math.Floor(math.Log10(lo)); p <= math.Ceil(math.Log10(hi)); p++ {
			for _, m := range []float64{1, 2, 5} {
				if m != 1 && decades > 3 {
					continue
				}
				if t := m * math.Pow(10, p); t >= lo*0.999 && t <= hi*1.001 {
					ts = append(ts, t)
				}
			}
		}
		return ts
	}
	step := niceStep((hi - lo) / 5)
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		ts = append(ts, math.Round(t/step)*step)
	}
	return ts
}

// niceStep returns 1, 2 or 5 times a power of ten, at least x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*0.999 {
			return m * p
		}
	}
	return 10 * p
}

// formatTick formats a tick value: 1500 as "1500", 0.5 as "0.5", 20000 as
// "20k".
func formatTick(v float64) string {
	if v >= 10000 && math.Mod(v, 1000) == 0 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// lineWidth is the thickness of series lines, in pixels.
const lineWidth = 3

// drawSeries draws the lines and point markers of s.
func drawSeries(img *image.RGBA, s Series, xs, ys scale) {
	var prev image.Point
	havePrev := false
	for i := range min(len(s.X), len(s.Y)) {
		px, okx := xs.pixel(s.X[i])
		py, oky := ys.pixel(s.Y[i])
		if !okx || !oky {
			havePrev = false
			continue
		}
		p := image.Pt(px, py)
		if havePrev {
			drawLine(img, prev, p, s.Color, s.Dashed)
		}
		prev, havePrev = p, true
	}
	for i := range min(len(s.X), len(s.Y)) {
		px, okx := xs.pixel(s.X[i])
		py, oky := ys.pixel(s.Y[i])
		if okx && oky {
			drawMarker(img, image.Pt(px, py), s.Color)
		}
	}
}

// drawLine draws a line lineWidth pixels thick from p to q (Bresenham's
// algorithm, stamping a square at each step), with 10-pixel dashes if
// dashed.
func drawLine(img *image.RGBA, p, q image.Point, c color.Color, dashed bool) {
	dx, dy := abs(q.X-p.X), -abs(q.Y-p.Y)
	sx, sy := sign(q.X-p.X), sign(q.Y-p.Y)
	e := dx + dy
	for step := 0; ; step++ {
		if !dashed || (step/10)%2 == 0 {
			h := lineWidth / 2
			fillRect(img, image.Rect(p.X-h, p.Y-h, p.X-h+lineWidth, p.Y-h+lineWidth), c)
		}
		if p == q {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			p.X += sx
		} else {
			e += dx
			p.Y += sy
		}
	}
}

// drawMarker draws a point marker: a filled square with a white rim.
func drawMarker(img *image.RGBA, p image.Point, c color.Color) {
	fillRect(img, image.Rect(p.X-5, p.Y-5, p.X+6, p.Y+6), white)
	fillRect(img, image.Rect(p.X-4, p.Y-4, p.X+5, p.Y+5), c)
}

// drawLegend draws the legend in the corner of the plot area where it
// hides the fewest pixels of the series already drawn.
func (c *Chart) drawLegend(img *image.RGBA, area image.Rectangle) {
	if len(c.Series) == 0 {
		return
	}
	const sample, pad, gap, inset = 36, 10, 6, 14
	th := TextHeight(Scale)
	w := 0
	for _, s := range c.Series {
		w = max(w, TextWidth(s.Name, Scale))
	}
	size := image.Pt(pad+sample+gap+w+pad, pad+len(c.Series)*(th+gap)-gap+pad)
	inner := area.Inset(inset)
	var box image.Rectangle
	best := -1
	for _, corner := range []image.Point{
		inner.Min,
		{inner.Max.X - size.X, inner.Min.Y},
		{inner.Min.X, inner.Max.Y - size.Y},
		inner.Max.Sub(size),
	} {
		r := image.Rectangle{Min: corner, Max: corner.Add(size)}
		if n := inked(img, r); best < 0 || n < best {
			box, best = r, n
		}
	}
	fillRect(img, box, axisColor)
	fillRect(img, box.Inset(1), white)
	y := box.Min.Y + pad
	for _, s := range c.Series {
		mid := y + th*7/18
		drawLine(img, image.Pt(box.Min.X+pad, mid), image.Pt(box.Min.X+pad+sample, mid), s.Color, s.Dashed)
		drawMarker(img, image.Pt(box.Min.X+pad+sample/2, mid), s.Color)
		DrawText(img, box.Min.X+pad+sample+gap, y, s.Name, Scale, black)
		y += th + gap
	}
}

// inked counts the pixels of r that are neither background nor grid.
func inked(img *image.RGBA, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.RGBAAt(x, y); c != white && c != gridColor {
				n++
			}
		}
	}
	return n
}

// fillRect fills r, clipped to img, with c.
func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r.Intersect(img.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}
