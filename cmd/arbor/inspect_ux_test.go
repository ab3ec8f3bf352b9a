package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/train/traintest"
	"github.com/arbor-nas/arbor/tree"
)

// tabularConfig writes a config for a real tabular search; with llmURL
// the resolver is the LLM at that URL, with prices so spend is counted.
func tabularConfig(t *testing.T, dir, table, llmURL string, budget int) string {
	t.Helper()
	text := fmt.Sprintf(`run:
  dir: %s
  evaluator: tabular
  table: %s
evolve:
  seed: 3
  seed_arch: nb201-resnet
  parallel: 2
  budget:
    trained: %d
  dry_run: false
  max_reject_streak: 1000
`, filepath.Join(dir, "run"), table, budget)
	if llmURL != "" {
		text += fmt.Sprintf(`llm:
  base_url: %s
  api_key_env: ARBOR_UX_TEST_NO_KEY
  structured: true
  max_retries: 0
  max_repairs: 1
  models:
    - name: mock-model
      weight: 1
      input_usd_per_mtok: 3
      output_usd_per_mtok: 15
`, llmURL)
	}
	return writeFile(t, dir, "cfg.yaml", text)
}

// fixtureRuns are real searches shared by the inspection tests: one with
// the offline resolver, one resolved by an LLM (the llmtest server, real
// HTTP) so that spend and rationales are recorded.
type fixtureRuns struct {
	offline, withLLM string
	llmCalls         int
}

func buildRuns(t *testing.T) fixtureRuns {
	t.Helper()
	table, _ := traintest.NB201(t)
	root := t.TempDir()
	build := func(name, url string, budget int) string {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := tabularConfig(t, dir, table, url, budget)
		if _, errOut, code := runUX(t, "evolve", "--config", cfg); code != 0 {
			t.Fatalf("evolve %s: exit %d: %s", name, code, errOut)
		}
		return filepath.Join(dir, "run")
	}
	var r fixtureRuns
	r.offline = build("offline", "", 30)
	srv := llmtest.New()
	defer srv.Close()
	for range 3000 {
		srv.Push(llmtest.SchemaAnswer())
	}
	r.withLLM = build("llm", srv.URL(), 12)
	r.llmCalls = len(srv.Requests())
	return r
}

// TestInspectCommands runs best, lineage, report and the full status on
// two real runs, and every command's bad input.
func TestInspectCommands(t *testing.T) {
	r := buildRuns(t)
	t.Run("bad-input", func(t *testing.T) { testInspectBadInput(t, r) })
	t.Run("best", func(t *testing.T) { testBestOnRun(t, r) })
	t.Run("lineage", func(t *testing.T) { testLineageOnRun(t, r) })
	t.Run("report", func(t *testing.T) { testReportOnRun(t, r) })
	t.Run("full-status", func(t *testing.T) { testFullStatusOnRun(t, r) })
	t.Run("events", func(t *testing.T) { testDisplayOnRealEvents(t, r) })
	t.Run("llm-try", func(t *testing.T) { testLLMTryStored(t, r) })
}

// testLLMTryStored renders the stored decision of a real candidate: the
// prompt shows the options the resolver was given, the limits and each
// child's size; the offline resolver answers again with the same choice;
// a seed has no decision and says so.
func testLLMTryStored(t *testing.T, r fixtureRuns) {
	s, err := store.OpenStoreReadOnly(r.offline)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := s.Candidates(context.Background())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	var c *store.Candidate
	for i := range cands {
		if cands[i].Op != store.OpSeed && cands[i].Rationale != "" && cands[i].Status == store.StatusTrained {
			c = &cands[i]
			break
		}
	}
	if c == nil {
		t.Fatal("no resolved candidate in the run")
	}
	out, errOut, code := runUX(t, "llm", "try", "--run", r.offline, "--candidate", c.ID)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"=== decision of " + c.ID, ", category ", "Options (", "child", "params", "=== choice"} {
		if !strings.Contains(out, want) {
			t.Errorf("llm try --run output lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := runUX(t, "llm", "try", "--run", r.offline, "--candidate", "c00001"); code != 2 || !strings.Contains(errOut, "no stored decision") {
		t.Errorf("a seed: exit %d, %q; want a usage error saying it has no stored decision", code, errOut)
	}
}

// testDisplayOnRealEvents plays the events a real search published (the
// engine stores each one) through every display mode.
func testDisplayOnRealEvents(t *testing.T, r fixtureRuns) {
	for _, run := range []string{r.offline, r.withLLM} {
		s, err := store.OpenStoreReadOnly(run)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(context.Background())
		s.Close()
		if err != nil || len(evs) < 20 {
			t.Fatalf("%d stored events (%v)", len(evs), err)
		}
		play := func(mode displayMode) string {
			var b bytes.Buffer
			sink, done := newEventSink(&b, mode, 0, 0)
			for _, ev := range evs {
				sink(ev)
			}
			done()
			return b.String()
		}
		checkEventStream(t, play(displayJSON), len(evs))
		finished, milestones := 0, 0
		for _, ev := range evs {
			switch ev.Kind {
			case store.EventFinished:
				finished++
			case store.EventBestImproved, store.EventRunStarted, store.EventResumed, store.EventBudgetReached,
				store.EventDraining, store.EventRunFinished:
				milestones++
			}
		}
		plain := play(displayPlain)
		if got := strings.Count(plain, "\n"); got != finished+milestones {
			t.Errorf("plain display: %d lines for %d finished candidates and %d milestones", got, finished, milestones)
		}
		last := evs[len(evs)-1]
		if want := fmt.Sprintf("[%d/%d] run-finished", last.Trained, last.Budget); !strings.Contains(plain, want) {
			t.Errorf("plain display lacks %q", want)
		}
		if last.LLMCost > 0 && !strings.Contains(plain, fmt.Sprintf("LLM $%.4f", last.LLMCost)) {
			t.Errorf("plain display does not show the spend $%.4f", last.LLMCost)
		}
		term := play(displayTerminal)
		if !strings.Contains(term, fmt.Sprintf("(%d/%d", last.Trained, last.Budget)) {
			t.Errorf("terminal display never shows the full bar %d/%d", last.Trained, last.Budget)
		}
	}
}

func readStore(t *testing.T, dir string) []store.Candidate {
	t.Helper()
	s, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// testInspectBadInput: every inspection command answers bad input with a
// clear message and exit code 2.
func testInspectBadInput(t *testing.T, r fixtureRuns) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	corrupt := filepath.Join(tmp, "corrupt")
	os.Mkdir(corrupt, 0o755)
	writeFile(t, corrupt, store.StoreFile, strings.Repeat("this is not a database\n", 300))
	notDir := writeFile(t, tmp, "file.txt", "x")
	missing := filepath.Join(tmp, "nope")

	type tc struct {
		args []string
		want string
	}
	var cases []tc
	for _, cmd := range [][]string{{"best"}, {"lineage", "--dot"}, {"report", "-o", filepath.Join(tmp, "out")}, {"status"}} {
		for _, bad := range []struct{ dir, want string }{
			{missing, "no such file"},
			{notDir, "not a directory"},
			{empty, "run directory"},
			{corrupt, "corrupt"},
		} {
			if cmd[0] == "status" && (bad.dir == notDir || bad.dir == missing) {
				bad.want = "run directory" // status opens the store directly
			}
			args := append([]string{cmd[0], bad.dir}, cmd[1:]...)
			cases = append(cases, tc{args, bad.want})
		}
	}
	cases = append(cases,
		tc{[]string{"lineage", r.offline, "c99999"}, `no candidate "c99999"`},
		tc{[]string{"lineage", r.offline, "--dot", "c99999"}, `no candidate "c99999"`},
		tc{[]string{"best", r.offline, "--id", "c99999", "--export", filepath.Join(tmp, "m.py")}, `no candidate "c99999"`},
		tc{[]string{"best", r.offline, "--metric", "loss"}, "--metric"},
		tc{[]string{"best", r.offline, "--pareto", "--objective", "energy"}, "--objective"},
		tc{[]string{"best", r.offline, "--pareto", "--objective", "latency"}, "latency measurement"},
		tc{[]string{"best"}, "RUN_DIR"},
		tc{[]string{"best", r.offline, "extra"}, "RUN_DIR"},
		tc{[]string{"lineage"}, "RUN_DIR [ID]"},
		tc{[]string{"lineage", r.offline, "c1", "c2"}, "RUN_DIR [ID]"},
		tc{[]string{"report", r.offline}, "-o DIR"},
		tc{[]string{"report", "-o", tmp}, "RUN_DIR"},
		tc{[]string{"report", r.offline, "-o", filepath.Join(notDir, "sub")}, "not a directory"},
		tc{[]string{"best", r.offline, "--no-such-flag"}, "unknown flag"},
	)
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, code := runUX(t, c.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", code, out, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("message lacks %q: %s", c.want, errOut)
			}
		})
	}
}

func testBestOnRun(t *testing.T, r fixtureRuns) {
	cands := readStore(t, r.offline)
	ok := report.Feasible(cands)
	if len(ok) < 20 {
		t.Fatalf("the fixture run trained only %d candidates successfully", len(ok))
	}
	bestAcc := 0.0
	for _, c := range ok {
		bestAcc = max(bestAcc, c.Result.ValAcc)
	}
	out, errOut, code := runUX(t, "best", r.offline, "--json")
	if code != 0 {
		t.Fatalf("best: exit %d: %s", code, errOut)
	}
	var best candidateJSON
	if err := json.Unmarshal([]byte(out), &best); err != nil || best.ValAcc != bestAcc {
		t.Fatalf("best %+v (%v), want val_acc %.3f", best, err, bestAcc)
	}

	// The Pareto front against a brute-force check, on each objective.
	for _, obj := range []string{"params", "flops"} {
		out, errOut, code = runUX(t, "best", r.offline, "--pareto", "--objective", obj, "--json")
		if code != 0 {
			t.Fatalf("pareto %s: exit %d: %s", obj, code, errOut)
		}
		var front []candidateJSON
		if err := json.Unmarshal([]byte(out), &front); err != nil || len(front) == 0 {
			t.Fatalf("pareto %s: %v: %s", obj, err, out)
		}
		costOf := func(id string, params, flops int64) float64 {
			if obj == "flops" {
				return float64(flops)
			}
			return float64(params)
		}
		inFront := map[string]bool{}
		for _, f := range front {
			inFront[f.ID] = true
		}
		for _, c := range ok {
			dominated := false
			for _, o := range ok {
				if o.Result.ValAcc >= c.Result.ValAcc && costOf(o.ID, o.Params, o.FLOPs) <= costOf(c.ID, c.Params, c.FLOPs) &&
					(o.Result.ValAcc > c.Result.ValAcc || costOf(o.ID, o.Params, o.FLOPs) < costOf(c.ID, c.Params, c.FLOPs)) {
					dominated = true
				}
			}
			if inFront[c.ID] && dominated {
				t.Errorf("pareto %s: %s is in the front but dominated", obj, c.ID)
			}
			if !inFront[c.ID] && !dominated && !slices.ContainsFunc(front, func(f candidateJSON) bool {
				return f.ValAcc == c.Result.ValAcc && costOf(f.ID, f.Params, f.FLOPs) == costOf(c.ID, c.Params, c.FLOPs)
			}) {
				t.Errorf("pareto %s: %s is not dominated but missing from the front", obj, c.ID)
			}
		}
	}
	out, _, code = runUX(t, "best", r.offline, "--pareto")
	if code != 0 || !strings.Contains(out, "Pareto front of") || !strings.Contains(out, best.ID) {
		t.Errorf("pareto text output: exit %d:\n%s", code, out)
	}

	// --export and --tree write the best candidate; the file builds in PyTorch.
	dir := t.TempDir()
	model, treeOut := filepath.Join(dir, "model.py"), filepath.Join(dir, "tree.json")
	if _, errOut, code := runUX(t, "best", r.offline, "-o", model, "--tree", treeOut); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	var bestCand store.Candidate
	for _, c := range cands {
		if c.ID == best.ID {
			bestCand = c
		}
	}
	data, err := os.ReadFile(treeOut)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tree.Parse(data)
	if err != nil {
		t.Fatalf("exported tree: %v", err)
	}
	if tree.Hash(tr) != bestCand.Hash {
		t.Errorf("exported tree hash %s, stored %s", tree.Hash(tr), bestCand.Hash)
	}
	src, _ := os.ReadFile(model)
	if !strings.Contains(string(src), "class Candidate(nn.Module)") || !strings.Contains(string(src), best.ID) {
		t.Fatalf("export lacks the class or its provenance:\n%.400s", src)
	}
	py := torchPython(t)
	cmd := exec.Command(py, model)
	cmd.Dir = dir
	outPy, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", model, err, outPy)
	}
	want := fmt.Sprintf("output (2, 10) parameters %d", bestCand.Params)
	if !strings.Contains(string(outPy), want) {
		t.Errorf("the exported model printed %q, want %q", outPy, want)
	}
	if !strings.Contains(string(outPy), "torch.jit.script: ok") {
		t.Errorf("the exported model does not compile under torch.jit.script:\n%s", outPy)
	}
	// The constructor takes another input shape and class count; the
	// searched ones are the defaults.
	check := `import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("m", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
d = m.Candidate()
o = m.Candidate(input_shape=(1, d.input_shape[1], d.input_shape[2]), num_classes=7)
print("defaults", d.input_shape, d.num_classes, "other", tuple(torch.jit.script(o)(torch.zeros(2, 1, d.input_shape[1], d.input_shape[2])).shape))
`
	cmd = exec.Command(py, "-c", check, model)
	outPy, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("Candidate(input_shape=..., num_classes=7): %v\n%s", err, outPy)
	}
	if !strings.Contains(string(outPy), "defaults (3, 32, 32) 10 other (2, 7)") {
		t.Errorf("constructor arguments: got %s", outPy)
	}
}

// torchPython returns an interpreter that can import torch.
func torchPython(t *testing.T) string {
	t.Helper()
	return testenv.Require(t, testenv.Torch)
}

func testLineageOnRun(t *testing.T, r fixtureRuns) {
	for _, run := range []string{r.offline, r.withLLM} {
		cands := readStore(t, run)
		byID := map[string]store.Candidate{}
		for _, c := range cands {
			byID[c.ID] = c
		}
		// The deepest trained candidate has the longest story.
		deepest, depth := "", -1
		for _, c := range report.Feasible(cands) {
			d := 0
			for p := c; p.ParentID != ""; p = byID[p.ParentID] {
				d++
			}
			if d > depth {
				deepest, depth = c.ID, d
			}
		}
		if depth < 1 {
			t.Fatalf("%s: no trained child in the fixture run", run)
		}
		out, errOut, code := runUX(t, "lineage", run, deepest, "--json")
		if code != 0 {
			t.Fatalf("lineage: exit %d: %s", code, errOut)
		}
		var steps []report.Step
		if err := json.Unmarshal([]byte(out), &steps); err != nil {
			t.Fatal(err)
		}
		if len(steps) != depth+1 || steps[0].Op != store.OpSeed || steps[0].ParentID != "" || steps[len(steps)-1].ID != deepest {
			t.Fatalf("chain of %d steps for depth %d: %+v", len(steps), depth, steps)
		}
		for i := 1; i < len(steps); i++ {
			s, p := steps[i], steps[i-1]
			if s.ParentID != p.ID {
				t.Errorf("step %d: parent %s, previous step %s", i, s.ParentID, p.ID)
			}
			if s.Path == "" || s.Rationale == "" {
				t.Errorf("step %d (%s): path %q, rationale %q: a step must say where and why", i, s.ID, s.Path, s.Rationale)
			}
			if s.Delta != nil && *s.Delta != s.ValAcc-p.ValAcc {
				t.Errorf("step %d: delta %g, accuracies %g - %g", i, *s.Delta, s.ValAcc, p.ValAcc)
			}
		}
		text, _, code := runUX(t, "lineage", run, deepest)
		said := fmt.Sprintf("%d steps from the seed", depth)
		if depth == 1 {
			said = "1 step from the seed"
		}
		if code != 0 || !strings.Contains(text, said) || !strings.Contains(text, "rationale:") ||
			!strings.Contains(text, "vs parent") {
			t.Errorf("lineage text: exit %d:\n%s", code, text)
		}

		// Without an ID: the best candidate's chain.
		bestID := report.Top(report.Feasible(cands), report.ValAcc, 1)[0].ID
		if text, errOut, code := runUX(t, "lineage", run); code != 0 || !strings.HasPrefix(text, bestID+": ") {
			t.Errorf("lineage RUN_DIR without ID: exit %d, want the chain of the best %s:\n%.300s%s", code, bestID, text, errOut)
		}

		dot, _, code := runUX(t, "lineage", run, "--dot", deepest)
		if code != 0 || !strings.HasPrefix(strings.SplitN(dot, "\n", 2)[1], "digraph family {") || !strings.HasSuffix(dot, "}\n") {
			t.Fatalf("dot: exit %d:\n%.300s", code, dot)
		}
		nodes := regexp.MustCompile(`(?m)^  "c\d+" \[`).FindAllString(dot, -1)
		edges := regexp.MustCompile(`(?m)^  "c\d+" -> "c\d+"`).FindAllString(dot, -1)
		wantNodes, wantEdges := 0, 0
		for _, c := range cands {
			if c.Status != store.StatusRejected {
				wantNodes++
				if c.ParentID != "" {
					wantEdges++
				}
			}
		}
		if len(nodes) != wantNodes || len(edges) != wantEdges {
			t.Errorf("dot has %d nodes and %d edges, want %d and %d", len(nodes), len(edges), wantNodes, wantEdges)
		}
		if bold := strings.Count(dot, "penwidth=2.5"); bold != 2*depth+1 {
			t.Errorf("dot marks %d lineage nodes and edges, want %d", bold, 2*depth+1)
		}
		cmd := exec.Command(testenv.Require(t, testenv.Graphviz), "-Tsvg")
		cmd.Stdin = strings.NewReader(dot)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("graphviz rejects the output: %v\n%.300s", err, out)
		}
	}
}

func testReportOnRun(t *testing.T, r fixtureRuns) {
	for _, rd := range []string{r.offline, r.withLLM} {
		dir := filepath.Join(t.TempDir(), "report")
		out, errOut, code := runUX(t, "report", rd, "-o", dir)
		if code != 0 || !strings.Contains(out, "index.html") {
			t.Fatalf("report: exit %d: %s%s", code, out, errOut)
		}
		db, err := store.OpenStoreReadOnly(rd)
		if err != nil {
			t.Fatal(err)
		}
		set, _, err := run.Settings(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		data, err := report.ReadData(context.Background(), rd, db, set)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		shown, notes := report.Shown(data)
		spendNote := slices.ContainsFunc(notes, func(n string) bool { return strings.HasPrefix(n, "LLM spend: no LLM calls") })
		if spendNote != (rd == r.offline) {
			t.Errorf("%s: notes %q: want the LLM spend left out exactly for the offline run", rd, notes)
		}
		if _, err := os.Stat(filepath.Join(dir, "llm_spend.png")); (err == nil) != (rd == r.withLLM) {
			t.Errorf("%s: llm_spend.png written: %v", rd, err == nil)
		}
		for _, p := range shown {
			f, err := os.Open(filepath.Join(dir, p.Name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s.png: %v", p.Name, err)
			}
			if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
				t.Errorf("%s.png is only %v", p.Name, b)
			}
			svg, err := os.ReadFile(filepath.Join(dir, p.Name+".svg"))
			if err != nil || !bytes.Contains(svg, []byte("<svg")) {
				t.Errorf("%s.svg: %v", p.Name, err)
			}
		}
		html, err := os.ReadFile(filepath.Join(dir, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		top := report.Top(readStore(t, rd), report.ValAcc, 10)
		if rows := strings.Count(string(html), "<tr><td>"); rows != len(top) {
			t.Errorf("index.html has %d table rows, want %d", rows, len(top))
		}
		for _, c := range top {
			if !strings.Contains(string(html), "<code>"+c.ID+"</code>") {
				t.Errorf("index.html lacks top candidate %s", c.ID)
			}
		}
		for _, p := range shown {
			if !strings.Contains(string(html), `src="`+p.Name+`.png"`) {
				t.Errorf("index.html does not show %s", p.Name)
			}
		}
		for _, n := range notes {
			if !strings.Contains(string(html), "<li>"+n+"</li>") {
				t.Errorf("index.html lacks the note %q", n)
			}
		}
		// Every accuracy says what it is: NAS-Bench-201's 12-epoch
		// validation signal and 200-epoch test figure.
		for _, want := range []string{"validation, 12 epochs (NAS-Bench-201 table)", "test, 200 epochs (NAS-Bench-201 table)"} {
			if !strings.Contains(string(html), want) {
				t.Errorf("index.html does not label its accuracies %q", want)
			}
		}
	}
	// The LLM run's spend is what the mock server was asked for.
	s, err := store.OpenStoreReadOnly(r.withLLM)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set, _, err := run.Settings(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := report.ReadData(context.Background(), r.withLLM, s, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Calls) == 0 || d.Summary.LLM.Cost <= 0 {
		t.Fatalf("the LLM run recorded %d calls costing $%g", len(d.Calls), d.Summary.LLM.Cost)
	}
	total := 0.0
	for _, c := range d.Calls {
		total += c.Cost
	}
	if fmt.Sprintf("%.9f", total) != fmt.Sprintf("%.9f", d.Summary.LLM.Cost) {
		t.Errorf("calls cost $%g in all, store says $%g", total, d.Summary.LLM.Cost)
	}
	for _, f := range report.Figures() {
		if f.Name != "llm_spend" {
			continue
		}
		p, err := f.Draw(d)
		if err != nil || !strings.Contains(p.Title.Text, strconv.Itoa(len(d.Calls))+" calls") {
			t.Errorf("spend plot title %q (%v)", p.Title.Text, err)
		}
	}
}

// TestInspectWhileRunning runs a real search in one goroutine and reads
// its run directory with status, best and report from another until it
// ends: every read must succeed on the half-written store.
func TestInspectWhileRunning(t *testing.T) {
	table, _ := traintest.NB201(t)
	dir := t.TempDir()
	cfg := tabularConfig(t, dir, table, "", 60)
	run := filepath.Join(dir, "run")
	done := make(chan string, 1)
	go func() {
		_, errOut, code := runUX(t, "evolve", "--config", cfg)
		if code != 0 {
			done <- fmt.Sprintf("evolve: exit %d: %s", code, errOut)
			return
		}
		done <- ""
	}()
	reads, sawPartial := 0, false
	for {
		select {
		case msg := <-done:
			if msg != "" {
				t.Fatal(msg)
			}
			if reads == 0 {
				t.Fatal("the search ended before any read")
			}
			t.Logf("%d reads during the run; saw a partial run: %v", reads, sawPartial)
			out, _, code := runUX(t, "status", run)
			if code != 0 || !strings.Contains(out, "trained 60 of a budget of 60") {
				t.Errorf("status after the run: exit %d:\n%s", code, out)
			}
			return
		default:
		}
		if _, err := os.Stat(filepath.Join(run, store.StoreFile)); err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		s, err := store.OpenStoreReadOnly(run)
		if err != nil {
			// The store file exists before its schema is committed.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		fs, err := report.ReadStatus(context.Background(), run, s, 5)
		s.Close()
		if err != nil {
			t.Fatalf("full status during the run: %v", err)
		}
		var b bytes.Buffer
		report.WriteStatus(&b, fs)
		if fs.Summary.Trained < 60 {
			sawPartial = true
		}
		if fs.Summary.Best != nil && reads%8 == 0 {
			if _, errOut, code := runUX(t, "best", run, "--pareto"); code != 0 {
				t.Fatalf("best during the run: exit %d: %s", code, errOut)
			}
			if _, errOut, code := runUX(t, "report", run, "-o", filepath.Join(dir, "rep")); code != 0 {
				t.Fatalf("report during the run: exit %d: %s", code, errOut)
			}
		}
		reads++
		time.Sleep(10 * time.Millisecond)
	}
}

func testFullStatusOnRun(t *testing.T, r fixtureRuns) {
	s, err := store.OpenStoreReadOnly(r.withLLM)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs, err := report.ReadStatus(context.Background(), r.withLLM, s, 5)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	report.WriteStatus(&b, fs)
	out := b.String()
	for _, want := range []string{"finished: budget reached", "trained 12 of a budget of 12", "rejected by gate:", "posterior mean",
		"planner posterior means by prompt category", "LLM: ", "decisions", "HTTP requests", "top "} {
		if !strings.Contains(out, want) {
			t.Errorf("full status lacks %q:\n%s", want, out)
		}
	}
	// One stored call record per resolved decision; a decision may take
	// several HTTP requests (repairs, retries), and status counts both.
	if l := fs.Summary.LLM; l.Decisions == 0 || l.Decisions > r.llmCalls || l.Requests != r.llmCalls {
		t.Errorf("status counts %d decisions and %d requests; the server answered %d requests", l.Decisions, l.Requests, r.llmCalls)
	}
	if len(fs.Top) != min(5, len(report.Feasible(readStore(t, r.withLLM)))) || fs.Top[0].ID != fs.Summary.Best.ID {
		t.Errorf("top %d, first %s, best %s", len(fs.Top), fs.Top[0].ID, fs.Summary.Best.ID)
	}
	for _, o := range fs.Ops {
		if o.Op == store.OpSeed {
			continue
		}
		if _, ok := fs.Posteriors.Ops[o.Op]; !ok {
			t.Errorf("operation %s has no posterior", o.Op)
		}
	}
	var b2 bytes.Buffer
	if err := printStatus(context.Background(), &b2, r.withLLM); err != nil || b2.String() != out {
		t.Errorf("printFullStatus: %v, output differs from writeFullStatus", err)
	}
	err = printStatus(context.Background(), &b2, filepath.Join(t.TempDir(), "nope"))
	if err == nil || exitCode(err) != 2 {
		t.Errorf("printFullStatus on a missing dir: %v (exit %d), want a usage error", err, exitCode(err))
	}
}
