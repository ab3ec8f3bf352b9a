package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/arbor-nas/arbor/train/atomicfile"
)

// series is one line with a band around it: mean[i] ± spread[i] at x = i+1.
type series struct {
	label        string
	mean, spread []float64
}

// bandChart is a mean-with-bands figure; from skips the first points (a
// random start that would squash the interesting range), ref draws a
// dashed reference line when refLabel is set.
type bandChart struct {
	title, xLabel, yLabel string
	from                  int
	ref                   float64
	refLabel              string
	// yFloor bounds the y axis from below at ref - yFloor when ref is set.
	yFloor float64
	// legendBottom puts the legend in the lower right, below rising curves.
	legendBottom bool
}

var palette = []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}}

// save draws the series with translucent bands into path (PNG or SVG by extension).
func (c bandChart) save(path string, ss []series) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = c.xLabel
	p.Y.Label.Text = c.yLabel
	p.Legend.Top = !c.legendBottom
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(5)
	p.Add(plotter.NewGrid())
	ymin, ymax, xmax := math.Inf(1), math.Inf(-1), 0
	for i, s := range ss {
		if len(s.mean) <= c.from {
			continue
		}
		col := palette[i%len(palette)]
		line := make(plotter.XYs, 0, len(s.mean)-c.from)
		band := make(plotter.XYs, 0, 2*(len(s.mean)-c.from))
		for q := c.from; q < len(s.mean); q++ {
			line = append(line, plotter.XY{X: float64(q + 1), Y: s.mean[q]})
			band = append(band, plotter.XY{X: float64(q + 1), Y: s.mean[q] + s.spread[q]})
			ymax = math.Max(ymax, s.mean[q]+s.spread[q])
		}
		for q := len(s.mean) - 1; q >= c.from; q-- {
			band = append(band, plotter.XY{X: float64(q + 1), Y: s.mean[q] - s.spread[q]})
			ymin = math.Min(ymin, s.mean[q]-s.spread[q])
		}
		xmax = max(xmax, len(s.mean))
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return err
		}
		poly.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 45} // non-premultiplied, so the band is translucent
		poly.LineStyle.Width = 0
		l, err := plotter.NewLine(line)
		if err != nil {
			return err
		}
		l.Color = col
		l.Width = vg.Points(1.5)
		p.Add(poly, l)
		p.Legend.Add(s.label, l)
	}
	if c.refLabel != "" && xmax > 0 {
		if !math.IsInf(ymin, 1) {
			p.Y.Min = math.Max(ymin, c.ref-c.yFloor)
			p.Y.Max = math.Max(ymax, c.ref) + 0.3
		}
		ref, err := plotter.NewLine(plotter.XYs{{X: float64(c.from + 1), Y: c.ref}, {X: float64(xmax), Y: c.ref}})
		if err != nil {
			return err
		}
		ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		ref.Color = color.Gray{Y: 80}
		p.Add(ref)
		p.Legend.Add(c.refLabel, ref)
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, strings.TrimPrefix(filepath.Ext(path), "."))
	if err == nil {
		err = atomicfile.WriteTo(path, 0o644, wt)
	}
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}
