package dashboard

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/train/traintest"
)

// TestBrowserCockpit drives the researcher's views in headless Chromium
// on real runs: the compare view of a real `bench compare` directory (one
// band per strategy, the paired differences), choosing runs to compare on
// the home page, the importance table, a candidate's diff against its
// parent, tick labels that never repeat, and the same fonts on bench and
// run pages. With $ARBOR_SCREENSHOT_RUN (a run directory of a search that
// trained for real) it also opens that run's best candidate and requires
// its learning curve, one point per epoch. Element screenshots go to
// $ARBOR_SCREENSHOTS when set (docs/).
func TestBrowserCockpit(t *testing.T) {
	_, table := traintest.NB201(t)
	b := newBrowser(t)
	root := t.TempDir()
	benchCompare(t, root, 12)
	runSearch(t, table, search{Dir: filepath.Join(root, "r"), Budget: 30, Seed: 3})
	dirs := []string{root}
	real := os.Getenv("ARBOR_SCREENSHOT_RUN")
	if real != "" {
		dirs = append(dirs, real)
	}
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: dirs})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer func() { hs.CloseClientConnections(); hs.Close() }()
	shots := os.Getenv("ARBOR_SCREENSHOTS")
	shoot := func(sel, file string) {
		t.Helper()
		png := get(t, b, "screenshot "+sel, chromedp.Screenshot(chromedp.CSS(sel)))
		if len(png) < 2000 {
			t.Errorf("screenshot of %s: %d bytes", sel, len(png))
		}
		if shots != "" {
			if err := os.WriteFile(filepath.Join(shots, file), png, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	base := filepath.Base(root)

	// The compare view of the bench compare directory.
	b.do(t, "open the compare view", chromedp.Navigate(hs.URL+"/#/compare/bench/"+url.PathEscape(base+"/cmp")),
		chromedp.WaitVisible(css(`#compare-chart svg path`)), chromedp.WaitVisible(css(`#compare-pairs tbody tr`)))
	if n := b.eval(t, `document.querySelectorAll('#compare-chart svg polygon').length`); n != 2 {
		t.Errorf("compare chart draws %d bands, want one per strategy (2)", n)
	}
	if n := b.eval(t, `document.querySelectorAll('#compare-runs tbody tr').length`); n != 4 {
		t.Errorf("compare view lists %d runs, want 4", n)
	}
	pair := b.text(t, `#compare-pairs tbody tr`)
	if !strings.Contains(pair, "random − thompson") && !strings.Contains(pair, "thompson − random") || !strings.Contains(pair, "seed 1") {
		t.Errorf("paired differences row: %q", pair)
	}
	b.eval(t, `window.scrollTo(0, 0), 1`)
	shoot(`main`, "dashboard-compare.png")

	// Choosing two runs on the home page opens the same view for them.
	b.do(t, "open the home page", chromedp.Navigate(hs.URL+"/#/"), chromedp.WaitVisible(css(`input.pick`)))
	b.do(t, "tick two runs", chromedp.Click(css(`input.pick[data-run$="random/seed-1"]`)), chromedp.Click(css(`input.pick[data-run$="thompson/seed-1"]`)),
		chromedp.Click(css(`#compare-selected`)), chromedp.WaitVisible(css(`#compare-runs tbody tr`)))
	if n := b.eval(t, `document.querySelectorAll('#compare-runs tbody tr').length`); n != 2 {
		t.Errorf("compare of two ticked runs lists %d", n)
	}

	// The importance table beside the posteriors, on the run page.
	runName := base + "/r"
	b.do(t, "open the run", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(runName)), chromedp.WaitVisible(css(`#importance-table tbody tr`)))
	rows := b.eval(t, `document.querySelectorAll('#importance-table tbody tr').length`)
	post := b.eval(t, `[...document.querySelectorAll('#importance-table tbody tr')].filter(r => r.lastChild.textContent.endsWith('%')).length`)
	if rows < 1 || post != rows {
		t.Errorf("importance: %d rows, %d with a posterior", rows, post)
	}
	shoot(`#importance`, "dashboard-importance.png")
	// Tick labels of every chart read differently from each other.
	dup := get(t, b, "repeated tick labels", chromedp.Evaluate[string](`[...document.querySelectorAll('svg.chart')].map(s => {
		const l = [...s.querySelectorAll('.xtick')].map(e => e.textContent); return new Set(l).size === l.length ? '' : l.join(' ') }).filter(Boolean).join(' | ')`))
	if dup != "" {
		t.Errorf("a chart repeats its tick labels: %s", dup)
	}
	runFont := get(t, b, "run chart font", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#chart-best svg text')).fontFamily`))

	// A child's source against its parent's.
	child := get(t, b, "a trained child", chromedp.Evaluate[string](`fetch('/api/run/candidates?run=`+url.QueryEscape(runName)+`').then(r => r.json()).then(d => {
		const p = d.columns.indexOf('parent'), o = d.columns.indexOf('outcome'); const r = d.rows.find(r => r[p] && r[o] === 'ok'); return r ? r[1] : ''; })`, chromedp.EvalAwaitPromise))
	b.do(t, "open a child", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(runName)+"/c/"+child), chromedp.WaitVisible(css(`#source-diff`)))
	if add, del := b.eval(t, `document.querySelectorAll('#source-diff .add').length`), b.eval(t, `document.querySelectorAll('#source-diff .del').length`); add < 1 || del < 1 {
		t.Errorf("diff of %s: %d added, %d removed lines shown", child, add, del)
	}
	if n := b.eval(t, `document.querySelectorAll('#downloads a[download]').length`); n < 1 {
		t.Errorf("candidate page offers %d downloads", n)
	}
	b.do(t, "show the full source", chromedp.Click(css(`#tab-full`)), chromedp.WaitVisible(css(`#source`)))

	// The bench page draws with the run pages' fonts.
	b.do(t, "open the bench page", chromedp.Navigate(hs.URL+"/#/bench/"+url.PathEscape(base+"/cmp")), chromedp.WaitVisible(css(`#bench-curves svg text`)))
	if f := get(t, b, "bench chart font", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#bench-curves svg text')).fontFamily`)); f != runFont || f == "" {
		t.Errorf("bench chart font %q, run page chart font %q", f, runFont)
	}

	if real != "" {
		name := filepath.Base(filepath.Clean(real))
		b.do(t, "open the real run", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(name)), chromedp.WaitVisible(css(`#candidates tbody tr`)))
		if shots != "" {
			b.eval(t, `(window.scrollTo(0, 0), 1)`)
			png := get(t, b, "screenshot", chromedp.CaptureScreenshot())
			os.WriteFile(filepath.Join(shots, "dashboard-overview.png"), png, 0o644)
			b.do(t, "see its importance table", chromedp.WaitVisible(css(`#importance-table tbody tr`)))
			shoot(`#importance`, "dashboard-importance.png") // a real search's, over the tabular one's
		}
		bestID := b.text(t, `.card a[href*="/c/"]`)
		b.do(t, "open its best", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(name)+"/c/"+bestID), chromedp.WaitVisible(css(`#learning-curve svg circle`)))
		epochs := b.eval(t, `document.querySelectorAll('#learning-curve .panel:first-child svg circle').length`)
		if epochs < 2 {
			t.Errorf("the learning curve of %s has %d points", bestID, epochs)
		}
		t.Logf("%s: learning curve of %s, %d points (validation and training)", name, bestID, epochs)
		shoot(`#learning-curve`, "dashboard-learning-curve.png")
		if b.eval(t, `document.querySelectorAll('#source-diff').length`) == 1 {
			shoot(`#source-diff`, "dashboard-diff.png")
		}
		if shots != "" {
			b.eval(t, `(window.scrollTo(0, 0), 1)`)
			png := get(t, b, "screenshot", chromedp.CaptureScreenshot())
			os.WriteFile(filepath.Join(shots, "dashboard-candidate.png"), png, 0o644)
		}
	}
	b.clean(t)
}
