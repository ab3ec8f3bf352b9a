package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/arbor-nas/arbor/train/traintest"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/train/testenv"
)

// browser is a headless Chromium driven over the DevTools protocol. It
// records console errors, uncaught exceptions, failed loads and any dialog
// (which it dismisses), so a test can require there were none.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// problems are console errors, exceptions and log entries of level error.
	problems []string
	dialogs  []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Require(t, testenv.Chromium)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 1000),
		// The machine has no network: without these Chromium keeps trying Google's hosts.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.problems = append(b.problems, "console.error: "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.problems = append(b.problems, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *page.EventJavascriptDialogOpening:
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// do runs steps with a time limit.
func (b *browser) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
		t.Fatalf("%s: %v\npage errors: %v\npage text:\n%s", what, err, b.problems, html)
	}
}

func get[T any](t testing.TB, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) text(t testing.TB, sel string) string {
	t.Helper()
	return get(t, b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) eval(t testing.TB, expr string) int {
	t.Helper()
	return get(t, b, expr, chromedp.Evaluate[int](expr))
}

func (b *browser) screenshot(t testing.TB, path string) {
	t.Helper()
	png := get(t, b, "screenshot "+path, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", path, len(png)/1024)
}

func (b *browser) clean(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the page logged %d errors:\n%s", len(b.problems), strings.Join(b.problems, "\n"))
	}
	if len(b.dialogs) > 0 {
		t.Errorf("a dialog opened: %v", b.dialogs)
	}
}

// TestBrowserLive is the end-to-end test: a real search (engine, SQLite
// store, tabular evaluator paced like training, an LLM over real HTTP whose
// rationales carry a script tag) runs while `arbor serve`'s handler serves
// its parent directory to a real headless Chromium. The overview must count
// trained candidates up without a reload; a candidate page must show its
// tree, source, lineage and LLM calls, with the injected rationale as text;
// no console error, no dialog. Screenshots go to the test's temp dir (and
// to $ARBOR_SCREENSHOTS when set, for the README).
func TestBrowserLive(t *testing.T) {
	_, table := traintest.NB201(t)
	b := newBrowser(t)
	root := t.TempDir()
	shots := t.TempDir()

	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}, Poll: 100 * time.Millisecond, Scan: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Watch(ctx)
	hs := httptest.NewServer(srv.Handler())
	defer func() { hs.CloseClientConnections(); hs.Close() }()

	// The run starts after the server: the parent directory is rescanned.
	const budget = 40
	llmSrv := mockLLM(t, 5000)
	s := search{Dir: filepath.Join(root, "live"), Budget: budget, Pace: 150 * time.Millisecond, LLMURL: llmSrv.URL(), Seed: 5, Workers: 2}
	// The store exists now; the search starts once the page shows the run,
	// so a slow machine cannot finish it before the page watches.
	e, db := s.engine(t, table)
	done := make(chan error, 1)
	defer func() {
		cancel()
		<-done
		db.Close()
	}()

	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	b.do(t, "open the overview", chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(css(`.run-panel .trained-count`)))
	b.do(t, "open the run", chromedp.Click(css(`.run-panel h3 a`)), chromedp.WaitVisible(css(`#candidates`)))
	b.eval(t, `window.__noReload = 1`)
	go func() { done <- e.Run(ctx) }()
	trained := func() int {
		// Read in one evaluation: a live refresh replaces the element.
		txt := get(t, b, "trained count", chromedp.Evaluate[string](`document.querySelector('.trained-count').textContent`))
		n, err := strconv.Atoi(strings.TrimSpace(txt))
		if err != nil {
			t.Fatalf("trained count %q: %v", txt, err)
		}
		return n
	}
	first := trained()
	if first >= budget {
		t.Fatalf("the search finished (%d trained) before the page could watch it", first)
	}
	deadline := time.Now().Add(60 * time.Second)
	last := first
	for last <= first+2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		last = trained()
	}
	marker := b.eval(t, `window.__noReload || 0`)
	if last <= first+2 || marker != 1 {
		t.Fatalf("trained count went %d -> %d (page kept: %v): want it to rise without a reload", first, last, marker == 1)
	}
	t.Logf("trained count rose %d -> %d on the live page", first, last)
	if err := <-done; err != nil {
		t.Fatalf("search: %v", err)
	}
	done <- nil
	// The finished state reaches the page too.
	b.do(t, "see the run finish", chromedp.WaitVisible(css(`#run-state.finished`)))
	if n := trained(); n != budget {
		t.Errorf("finished run shows %d trained, want %d", n, budget)
	}
	if b.eval(t, `window.__noReload || 0`) != 1 {
		t.Error("the page reloaded")
	}
	b.screenshot(t, filepath.Join(shots, "overview.png"))

	// The best candidate, opened from the table.
	bestID := b.text(t, `.card a[href*="/c/"]`)
	// Sort by accuracy (descending on the first click): the best comes first.
	b.do(t, "sort by accuracy", chromedp.Click(css(`#candidates th[data-col="val_acc"]`)))
	if top := get(t, b, "first row", chromedp.Evaluate[string](`document.querySelector('#candidates tbody tr').dataset.id`)); top != bestID {
		t.Errorf("sorted by accuracy, the first row is %s, want the best %s", top, bestID)
	}
	b.do(t, "open a candidate", chromedp.Click(css(`#candidates tbody tr.cand-row td`)),
		chromedp.WaitVisible(css(`#tree`)), chromedp.WaitVisible(css(`#lineage`)))
	// A child shows its diff against the parent first; the full source is a tab.
	b.eval(t, `(document.querySelector('#tab-full') && document.querySelector('#tab-full').click(), 1)`)
	b.do(t, "see the full source", chromedp.WaitVisible(css(`#source`)))
	src, treeText := b.text(t, `#source`), b.text(t, `#tree`)
	lineageRows := b.eval(t, `document.querySelectorAll('#lineage tbody tr').length`)
	changed := b.eval(t, `document.querySelectorAll('#tree .chg-changed, #tree .chg-added').length`)
	if !strings.Contains(src, "class Candidate(nn.Module)") {
		t.Errorf("source panel lacks the rendered model:\n%.300s", src)
	}
	if !strings.Contains(treeText, "params") || !strings.Contains(treeText, "MACs") {
		t.Errorf("tree lacks per-node counts:\n%.300s", treeText)
	}
	if lineageRows < 2 || changed < 1 {
		t.Errorf("lineage rows %d (want >= 2), changed nodes highlighted %d (want >= 1)", lineageRows, changed)
	}
	b.screenshot(t, filepath.Join(shots, "candidate.png"))

	// A candidate the LLM chose: its rationale carries the injection.
	runName := filepath.Base(root) + "/live"
	llmID := get(t, b, "find a candidate the LLM chose", chromedp.Evaluate[string](`fetch('/api/run/candidates?run=`+url.QueryEscape(runName)+`')
		.then(r => r.json()).then(d => { const i = d.columns.indexOf('llm_tokens'), st = d.columns.indexOf('status');
		  const r = d.rows.find(r => r[i] > 0 && r[st] !== 'rejected'); return r ? r[1] : ''; })`, chromedp.EvalAwaitPromise))
	if llmID == "" {
		t.Fatal("no trained candidate has LLM tokens: the mocked LLM was not used")
	}
	// Wait for its page, not the previous candidate's, before clicking.
	b.do(t, "open the LLM's candidate", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(runName)+"/c/"+llmID))
	get(t, b, "see the LLM's candidate", chromedp.Poll[bool](`!!document.querySelector('h1') && document.querySelector('h1').textContent.startsWith('`+llmID+`')`))
	b.do(t, "open its LLM call",
		chromedp.WaitVisible(css(`#llm-calls details summary`)), chromedp.Click(css(`#llm-calls details summary`)),
		chromedp.WaitVisible(css(`#llm-calls details pre`)))
	rationale, prompt := b.text(t, `#rationale`), b.text(t, `#llm-calls details pre`)
	scripts := b.eval(t, `document.querySelectorAll('script').length`)
	calls := b.eval(t, `document.querySelectorAll('#llm-calls details').length`)
	if !strings.Contains(rationale, injection) || scripts != 1 {
		t.Errorf("rationale %q: want the injected markup shown as text; the page has %d script elements (want 1, its own)", rationale, scripts)
	}
	if calls < 1 || !strings.Contains(prompt, "o1") {
		t.Errorf("%d LLM calls shown; prompt %.200q", calls, prompt)
	}

	b.do(t, "open the lineage view", chromedp.Navigate(hs.URL+"/#/run/"+url.PathEscape(runName)+"/lineage"),
		chromedp.WaitVisible(css(`#lineage-svg circle`)))
	b.screenshot(t, filepath.Join(shots, "lineage.png"))

	// An `arbor bench` output directory in the same parent: table and curves.
	writeBenchDir(t, filepath.Join(root, "bench-c10"))
	srv.rescan()
	b.do(t, "open the bench directory", chromedp.Navigate(hs.URL+"/#/bench/"+url.PathEscape(filepath.Base(root)+"/bench-c10")),
		chromedp.WaitVisible(css(`#bench-curves svg path`)), chromedp.WaitVisible(css(`#bench-runs tbody tr`)))
	if n := b.eval(t, `document.querySelectorAll('#bench-runs tbody tr').length`); n != 2 {
		t.Errorf("bench table shows %d runs, want 2", n)
	}
	b.clean(t)

	if dir := os.Getenv("ARBOR_SCREENSHOTS"); dir != "" {
		for _, f := range []string{"overview.png", "candidate.png", "lineage.png"} {
			data, err := os.ReadFile(filepath.Join(shots, f))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, f), data, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
}
