package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/atomicfile"
)

// Write writes every figure as PNG and SVG and index.html into dir (made
// if missing), and returns the files written.
func Write(dir string, d Data) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var files []string
	shown, _ := Shown(d)
	for _, rp := range shown {
		p, err := rp.Draw(d)
		if err != nil {
			return files, fmt.Errorf("report: %s: %w", rp.Name, err)
		}
		for _, ext := range []string{".png", ".svg"} {
			path := filepath.Join(dir, rp.Name+ext)
			if err := savePlot(p, 9*vg.Inch, 5.5*vg.Inch, path); err != nil {
				return files, fmt.Errorf("report: %w", err)
			}
			files = append(files, path)
		}
	}
	path := filepath.Join(dir, "index.html")
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return reportTemplate().Execute(w, htmlView(d))
	}); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	return append(files, path), nil
}

// savePlot draws p into path (the format from its extension) atomically.
func savePlot(p *plot.Plot, w, h vg.Length, path string) error {
	wt, err := p.WriterTo(w, h, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteTo(path, 0o644, wt)
}

type htmlRow struct {
	Rank                                     int
	ID, Parent, Operation, Module, Val, Test string
	Params, FLOPs, Wall                      string
}

type htmlPage struct {
	Dir, State, Generated, Strategy string
	Counts                          []string
	Best                            string
	Plots                           []Figure
	// Notes are the figures left out for want of data, one line each.
	Notes     []string
	Top       []htmlRow
	Val, Test string // what the accuracies are (Data.Val, Data.Test)
	// Retrain is the `arbor retrain` table as text, empty when none.
	Retrain string
}

func htmlView(d Data) htmlPage {
	pg := htmlPage{Dir: d.Dir, Generated: d.Generated.Format("2006-01-02 15:04:05 MST"), Strategy: d.Strategy, Val: d.Val, Test: d.Test}
	pg.Plots, pg.Notes = Shown(d)
	pg.State = StateText(d.State, d.Dir, d.Last)
	sum := d.Summary
	pg.Counts = []string{
		fmt.Sprintf("%d candidates trained (%s)", sum.Trained, CountsLine(sum.TrainStatus)),
		fmt.Sprintf("%d proposals, of which %d rejected by the gate", sum.Candidates, sum.ByStatus[string(store.StatusRejected)]),
		sum.LLM.String(),
	}
	if sum.Best != nil {
		pg.Best = fmt.Sprintf("%s: %.2f%% validation accuracy%s, %s parameters, %s FLOPs", sum.Best.ID, sum.Best.ValAcc, paren(d.Val), Count(sum.Best.Params), Count(sum.Best.FLOPs))
	}
	if d.Retrain != nil {
		var b strings.Builder
		d.Retrain.Print(&b)
		pg.Retrain = b.String()
	}
	for i, c := range Top(d.Cands, ValAcc, 10) {
		pg.Top = append(pg.Top, htmlRow{Rank: i + 1, ID: c.ID, Parent: OrDash(c.ParentID), Operation: OpAt(c), Module: OrDash(c.Module),
			Val: fmt.Sprintf("%.2f", c.Result.ValAcc), Test: strings.TrimSuffix(pctOrDash(c.Result.TestAcc), "%"),
			Params: Count(c.Params), FLOPs: Count(c.FLOPs), Wall: Duration(time.Duration(c.Result.WallS * float64(time.Second)))})
	}
	return pg
}

// paren is " (s)", or "" for an empty s.
func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func reportTemplate() *template.Template {
	return template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>arbor report: {{.Dir}}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
figure { margin: 2em 0; } figure img { width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
code { background: #f5f5f5; padding: 0 0.2em; }
</style></head><body>
<h1>arbor report: <code>{{.Dir}}</code></h1>
<p>State: {{.State}}.{{if .Strategy}} Strategy: {{.Strategy}}.{{end}} Generated {{.Generated}}.</p>
<ul>{{range .Counts}}<li>{{.}}</li>{{end}}{{if .Best}}<li>Best: {{.Best}}</li>{{end}}</ul>
<h2>Top 10 by validation accuracy</h2>
{{if .Top}}<table>
<tr><th>#</th><th class="l">candidate</th><th class="l">parent</th><th class="l">operation@path</th><th class="l">module</th><th>val acc (%){{if .Val}}<br><small>{{.Val}}</small>{{end}}</th><th>test acc (%){{if .Test}}<br><small>{{.Test}}</small>{{end}}</th><th>params</th><th>FLOPs</th><th>train time</th></tr>
{{range .Top}}<tr><td>{{.Rank}}</td><td class="l"><code>{{.ID}}</code></td><td class="l"><code>{{.Parent}}</code></td><td class="l">{{.Operation}}</td><td class="l">{{.Module}}</td><td>{{.Val}}</td><td>{{.Test}}</td><td>{{.Params}}</td><td>{{.FLOPs}}</td><td>{{.Wall}}</td></tr>
{{end}}</table>
{{if .Test}}<p>Candidates are ranked by validation accuracy ({{.Val}}); the test accuracy ({{.Test}}) is never used to choose.</p>{{end}}
<p>Export one: <code>arbor best {{.Dir}} --id ID -o model.py</code>; its history: <code>arbor lineage {{.Dir}} ID</code>.</p>
{{else}}<p>No candidate has trained successfully yet.</p>{{end}}
{{if .Retrain}}<h2 id="retrain">Retrained at full fidelity (arbor retrain)</h2>
<pre>{{.Retrain}}</pre>
<p>The published figure: test accuracy mean ± std over retraining seeds; the finalist is chosen by retrained validation accuracy, never by test accuracy.</p>{{end}}
{{if .Notes}}<h2>Not drawn</h2><ul id="not-drawn">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Plots}}<figure id="{{.Name}}"><h2>{{.Title}}</h2>
<a href="{{.Name}}.svg"><img src="{{.Name}}.png" alt="{{.Title}}"></a>
<figcaption>{{.Caption}} (<a href="{{.Name}}.svg">SVG</a>)</figcaption></figure>
{{end}}</body></html>
`))
}
