package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"testing"
)

func TestFontCoversASCII(t *testing.T) {
	g := glyphs()
	for r := rune(' '); r <= '~'; r++ {
		if r == '`' {
			continue
		}
		gl, ok := g[r]
		if !ok {
			t.Errorf("no glyph for %q", r)
			continue
		}
		if blank := gl == (glyph{}); blank != (r == ' ') {
			t.Errorf("glyph for %q: blank = %v", r, blank)
		}
	}
	if _, ok := g['`']; ok {
		t.Error("unexpected glyph for the backquote")
	}
	// Glyphs must differ, or the sheet is misaligned.
	seen := map[glyph]rune{}
	for r, gl := range g {
		if other, dup := seen[gl]; dup {
			t.Errorf("glyphs %q and %q are identical", r, other)
		}
		seen[gl] = r
	}
}

// inkBounds returns the bounding box of the pixels of img that are not
// white.
func inkBounds(img *image.RGBA) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) != white {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func blankImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Bounds(), white)
	return img
}

func TestDrawText(t *testing.T) {
	const s, scale = "Hg|H", 2
	img := blankImage(100, 100)
	DrawText(img, 10, 20, s, scale, black)
	// H fills its cell from the top-left; g reaches the descender row.
	want := image.Rect(10, 20, 10+TextWidth(s, scale), 20+TextHeight(scale))
	if got := inkBounds(img); got != want {
		t.Errorf("ink bounds %v, want %v", got, want)
	}
}

func TestDrawTextUp(t *testing.T) {
	const s, scale = "Hg|H", 2
	img := blankImage(100, 100)
	DrawTextUp(img, 20, 90, s, scale, black)
	want := image.Rect(20, 90-TextWidth(s, scale), 20+TextHeight(scale), 90)
	if got := inkBounds(img); got != want {
		t.Errorf("ink bounds %v, want %v", got, want)
	}
}

func TestUnknownRuneDrawsBox(t *testing.T) {
	img := blankImage(20, 20)
	DrawText(img, 0, 0, "é", 1, black)
	if got, want := inkBounds(img), image.Rect(0, 0, glyphWidth, 7); got != want {
		t.Errorf("ink bounds %v, want %v", got, want)
	}
}

func TestNiceStep(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0.3, 0.5}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {940, 1000}, {1100, 2000}, {0, 1},
	}
	for _, tt := range tests {
		if got := niceStep(tt.in); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		name   string
		axis   Axis
		lo, hi float64
		want   []float64
	}{
		{"linear", Axis{}, 0, 5000, []float64{0, 1000, 2000, 3000, 4000, 5000}},
		{"log", Axis{Log: true}, 10, 1000, []float64{10, 20, 50, 100, 200, 500, 1000}},
		{"log-wide", Axis{Log: true}, 1, 1e4 * 10, []float64{1, 10, 100, 1000, 1e4, 1e5}},
		{"explicit", Axis{Ticks: []float64{64, 4096}}, 1, 2, []float64{64, 4096}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.axis.ticks(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
				t.Errorf("ticks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatTick(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 64: "64", 0.5: "0.5", 5000: "5000", 10000: "10k", 25000: "25k"} {
		if got := formatTick(in); got != want {
			t.Errorf("formatTick(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestRender(t *testing.T) {
	red := color.RGBA{200, 0, 0, 255}
	c := &Chart{
		Title: "title",
		X:     Axis{Label: "x", Log: true, Ticks: []float64{64, 256, 1024}},
		Y:     Axis{Label: "y"},
		Series: []Series{
			{Name: "a", X: []float64{64, 256, 1024}, Y: []float64{10, 20, 40}, Color: red},
			{Name: "b", X: []float64{64, 256, 1024}, Y: []float64{1, math.NaN(), 3}, Color: Color(0), Dashed: true},
		},
	}
	img := Render(800, 400, c, c)
	if got := img.Bounds(); got != image.Rect(0, 0, 800, 400) {
		t.Fatalf("bounds %v", got)
	}
	// Each half has the red series, in its own half.
	for _, half := range []image.Rectangle{image.Rect(0, 0, 400, 400), image.Rect(400, 0, 800, 400)} {
		n := 0
		for y := half.Min.Y; y < half.Max.Y; y++ {
			for x := half.Min.X; x < half.Max.X; x++ {
				if img.RGBAAt(x, y) == red {
					n++
				}
			}
		}
		if n < 100 {
			t.Errorf("half %v has %d red pixels", half, n)
		}
	}
	var buf bytes.Buffer
	if err := Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Bounds() != img.Bounds() {
		t.Errorf("decoded bounds %v", dec.Bounds())
	}
}

func TestRenderEmpty(t *testing.T) {
	// No series, no data: no panic, a blank frame with axes.
	img := Render(300, 200, &Chart{Y: Axis{Log: true}})
	if inkBounds(img).Empty() {
		t.Error("nothing drawn")
	}
	if !inkBounds(Render(10, 10)).Empty() {
		t.Error("ink without charts")
	}
}
