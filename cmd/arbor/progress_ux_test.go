package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/traintest"
)

// eventScript is a small run: start, a seed, a rejection, a child that
// improves the best, a failure, the budget, the end.
func eventScript() []store.Event {
	t0 := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	return []store.Event{
		{Time: at(0), Kind: store.EventRunStarted, Budget: 4, Message: "strategy thompson"},
		{Time: at(0), Kind: store.EventProposed, CandidateID: "c00001", Op: "seed", Budget: 4, InFlight: 1},
		{Time: at(10), Kind: store.EventFinished, CandidateID: "c00001", Op: "seed", Status: "ok", ValAcc: 80.5, Params: 272474,
			FLOPs: 41e6, WallS: 10, Trained: 1, Budget: 4, BestValAcc: 80.5},
		{Time: at(11), Kind: store.EventRejected, CandidateID: "c00002", ParentID: "c00001", Op: "swap", Gate: "duplicate",
			Reason: "same hash as c00001", Trained: 1, Budget: 4, Rejected: 1, BestValAcc: 80.5},
		{Time: at(12), Kind: store.EventStarted, CandidateID: "c00003", ParentID: "c00001", Op: "insert", Trained: 1, Budget: 4, InFlight: 1, Rejected: 1, BestValAcc: 80.5},
		{Time: at(20), Kind: store.EventFinished, CandidateID: "c00003", ParentID: "c00001", Op: "insert", Path: "/stage2/block1",
			Module: "tv.SE", Status: "ok", ValAcc: 82.25, Params: 1_234_567, WallS: 8, Trained: 2, Budget: 4, Rejected: 1, BestValAcc: 82.25, LLMCost: 0.0123},
		{Time: at(20), Kind: store.EventBestImproved, CandidateID: "c00003", ValAcc: 82.25, Trained: 2, Budget: 4, Rejected: 1,
			BestValAcc: 82.25, Message: "80.50% -> 82.25%", LLMCost: 0.0123},
		{Time: at(30), Kind: store.EventFinished, CandidateID: "c00004", ParentID: "c00003", Op: "delete", Path: "/stage3",
			Status: "oom", Params: 900, WallS: 2, Trained: 3, Budget: 4, Rejected: 1, BestValAcc: 82.25, LLMCost: 0.0123, Message: "CUDA out of memory\ntrace"},
		{Time: at(40), Kind: store.EventFinished, CandidateID: "c00005", ParentID: "c00003", Op: "swap", Path: "/stem",
			Status: "ok", ValAcc: 81, Params: 5000, WallS: 9, Trained: 4, Budget: 4, Rejected: 1, BestValAcc: 82.25, LLMCost: 0.0123},
		{Time: at(40), Kind: store.EventBudgetReached, Trained: 4, Budget: 4, Rejected: 1, BestValAcc: 82.25, LLMCost: 0.0123, Message: "budget reached: 4 candidates trained"},
		{Time: at(41), Kind: store.EventRunFinished, Trained: 4, Budget: 4, Rejected: 1, BestValAcc: 82.25, LLMCost: 0.0123, Message: "budget reached"},
	}
}

func playEvents(mode displayMode) string {
	var b bytes.Buffer
	sink, done := newEventSink(&b, mode, 4, 0)
	for _, ev := range eventScript() {
		sink(ev)
	}
	done()
	return b.String()
}

// TestEventStreamSchema checks the --json stream: one object per event,
// each with the schema version, only documented fields, each of its
// documented type, and the always-present fields always there.
func TestEventStreamSchema(t *testing.T) {
	checkEventStream(t, playEvents(displayJSON), len(eventScript()))
	// Every JSON field of store.Event must be documented.
	docs := map[string]fieldDoc{}
	for _, f := range eventFieldDocs() {
		docs[f.Name] = f
	}
	et := reflect.TypeFor[store.Event]()
	for i := range et.NumField() {
		name, _, _ := strings.Cut(et.Field(i).Tag.Get("json"), ",")
		if _, ok := docs[name]; !ok && name != "-" {
			t.Errorf("store.Event field %s (json %q) is not in eventFieldDocs: document it (and regenerate docs/events.md)", et.Field(i).Name, name)
		}
	}
}

// checkEventStream validates a --json stream of n events: one object per
// line, each with the schema version, only documented fields, each of its
// documented type, and the always-present fields always there.
func checkEventStream(t *testing.T, out string, n int) {
	t.Helper()
	docs := map[string]fieldDoc{}
	for _, f := range eventFieldDocs() {
		docs[f.Name] = f
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	lines := 0
	for sc.Scan() {
		lines++
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d is not one JSON object: %v: %s", lines, err, sc.Text())
		}
		if obj["schema"] != eventSchema {
			t.Errorf("line %d: schema %v, want %s", lines, obj["schema"], eventSchema)
		}
		for k, v := range obj {
			f, ok := docs[k]
			if !ok {
				t.Errorf("line %d: undocumented field %q", lines, k)
				continue
			}
			var okType bool
			switch f.Type {
			case "string":
				_, okType = v.(string)
			case "number":
				_, okType = v.(json.Number)
			case "integer":
				num, isNum := v.(json.Number)
				_, err := num.Int64()
				okType = isNum && err == nil
			}
			if !okType {
				t.Errorf("line %d: field %s = %#v is not a %s", lines, k, v, f.Type)
			}
		}
		for _, f := range eventFieldDocs() {
			if _, ok := obj[f.Name]; f.When == "always" && !ok {
				t.Errorf("line %d: field %s is documented as always present but is missing: %s", lines, f.Name, sc.Text())
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, obj["time"].(string)); err != nil {
			t.Errorf("line %d: time: %v", lines, err)
		}
	}
	if lines != n {
		t.Fatalf("%d lines for %d events", lines, n)
	}
}

func TestEventsDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "events.md")
	want := eventsMarkdown()
	if updating() {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is missing or stale (%v): regenerate it with go test ./cmd/arbor -run EventsDoc -update", path, err)
	}
}

func TestPlainDisplay(t *testing.T) {
	out := playEvents(displayPlain)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// run-started, 4 finished, best-improved, budget-reached, run-finished;
	// the proposal, the rejection and the start only move counters.
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 8:\n%s", len(lines), out)
	}
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("plain output has terminal control characters:\n%q", out)
	}
	child := lines[2]
	for _, want := range []string{"[2/4]", "c00003", "parent c00001", "insert@/stage2/block1", "82.25%", "1.23M params", "ok",
		"best 82.25%", "0 in flight", "1 rejected", "LLM $0.0123", "ETA 20s (20s elapsed)"} {
		if !strings.Contains(child, want) {
			t.Errorf("finished-candidate line lacks %q:\n%s", want, child)
		}
	}
	if !strings.Contains(lines[3], "new best c00003") {
		t.Errorf("best line: %s", lines[3])
	}
	oom := lines[4]
	for _, want := range []string{"c00004", "oom", "CUDA out of memory", "delete@/stage3"} {
		if !strings.Contains(oom, want) {
			t.Errorf("failed-candidate line lacks %q:\n%s", want, oom)
		}
	}
	if strings.Contains(oom, "trace") || strings.Contains(oom, "82.25% ") && strings.Contains(oom, "val  82") {
		t.Errorf("failed-candidate line: %s", oom)
	}
	if !strings.Contains(lines[7], "run-finished") || !strings.Contains(lines[7], "ETA 0s") {
		t.Errorf("last line: %s", lines[7])
	}
}

func TestTerminalDisplay(t *testing.T) {
	out := playEvents(displayTerminal)
	for _, want := range []string{"c00003  parent c00001", "new best c00003", "(4/4", "best 82.25%", "1 rejected", "LLM $0.0123"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	if !strings.Contains(out, "\r") {
		t.Errorf("terminal output never redraws the bar:\n%q", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("finish leaves the cursor on the bar line")
	}
}

func TestQuietDisplayAndChoice(t *testing.T) {
	if out := playEvents(displayQuiet); out != "" {
		t.Fatalf("quiet printed %q", out)
	}
	var b bytes.Buffer
	for _, tc := range []struct {
		quiet, json bool
		want        displayMode
	}{{false, false, displayPlain}, {true, false, displayQuiet}, {false, true, displayJSON}, {true, true, displayJSON}} {
		if got := chooseDisplay(&b, tc.quiet, tc.json); got != tc.want {
			t.Errorf("chooseDisplay(buffer, quiet=%v, json=%v) = %v, want %v", tc.quiet, tc.json, got, tc.want)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := chooseDisplay(w, false, false); got != displayPlain {
		t.Errorf("a pipe is not a terminal, got mode %v", got)
	}
}

func TestETA(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &display{w: &bytes.Buffer{}, budget: 30}
	// Resumed at 10 trained: the rate counts only this process's work.
	d.event(store.Event{Time: t0, Kind: store.EventResumed, Trained: 10, Budget: 30})
	d.event(store.Event{Time: t0.Add(100 * time.Second), Kind: store.EventFinished, Status: "ok", Trained: 15, Budget: 30})
	if got := d.eta(d.last, 100*time.Second); got != "5m0s" {
		t.Fatalf("ETA after 5 of 20 in 100s = %s, want 5m0s", got)
	}
	if got := (&display{}).eta(store.Event{Trained: 3}, time.Second); got != "-" {
		t.Fatalf("ETA without a budget = %s", got)
	}
}

// TestLiveLineFits: the status line drops fields in a fixed order to fit
// the width (jobs in flight, rejections, LLM spend, ETA) and keeps the
// elapsed time.
func TestLiveLineFits(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &display{w: &bytes.Buffer{}, budget: 30}
	d.event(store.Event{Time: t0, Kind: store.EventRunStarted, Budget: 30})
	ev := store.Event{Time: t0.Add(100 * time.Second), Kind: store.EventFinished, Status: "ok", Trained: 5, Budget: 30,
		BestValAcc: 91.25, InFlight: 2, Rejected: 7, LLMCost: 0.0123}
	full := d.liveLine(ev, 0)
	if full != "best 91.25% · 2 in flight · 7 rejected · LLM $0.0123 · ETA 8m20s (1m40s elapsed)" {
		t.Fatalf("full line: %q", full)
	}
	for _, tc := range []struct {
		width int
		want  string
	}{
		{200, full},
		{len([]rune(full)), full},
		{70, "best 91.25% · 7 rejected · LLM $0.0123 · ETA 8m20s (1m40s elapsed)"},
		{60, "best 91.25% · LLM $0.0123 · ETA 8m20s (1m40s elapsed)"},
		{45, "best 91.25% · ETA 8m20s (1m40s elapsed)"},
		{30, "best 91.25% · 1m40s elapsed"},
		{20, "…25% · 1m40s elapsed"},
	} {
		got := d.liveLine(ev, tc.width)
		if got != tc.want {
			t.Errorf("width %d: %q, want %q", tc.width, got, tc.want)
		}
		if n := len([]rune(got)); n > tc.width {
			t.Errorf("width %d: %d runes", tc.width, n)
		}
	}
}

// TestHeartbeat: without a terminal, a line says the run is alive when
// nothing was printed for the heartbeat period, and only then.
func TestHeartbeat(t *testing.T) {
	t0 := time.Now()
	var b bytes.Buffer
	d := &display{w: &b, budget: 4, heartbeat: time.Minute}
	d.beat(t0)
	if b.Len() != 0 {
		t.Fatalf("a beat before the run started: %q", b.String())
	}
	d.event(store.Event{Time: t0, Kind: store.EventRunStarted, Budget: 4})
	d.event(store.Event{Time: t0.Add(time.Second), Kind: store.EventStarted, CandidateID: "c00001", InFlight: 1, Budget: 4})
	n := strings.Count(b.String(), "\n")
	d.beat(time.Now().Add(30 * time.Second))
	if got := strings.Count(b.String(), "\n"); got != n {
		t.Fatalf("a beat 30s after the last line (period 1m): %q", b.String())
	}
	d.beat(time.Now().Add(61 * time.Second))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	last := lines[len(lines)-1]
	if len(lines) != n+1 || !strings.Contains(last, "[0/4] still running") || !strings.Contains(last, "1 in flight") || !strings.Contains(last, "elapsed") {
		t.Fatalf("heartbeat line: %q", b.String())
	}
	// The goroutine of a real sink writes beats by itself.
	var out syncBuffer
	sink, done := newEventSink(&out, displayPlain, 4, 20*time.Millisecond)
	sink(store.Event{Time: time.Now(), Kind: store.EventRunStarted, Budget: 4})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "still running") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	done()
	if !strings.Contains(out.String(), "still running") {
		t.Fatalf("no heartbeat from the sink in 10s: %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQuietIsQuiet: evolve --quiet prints the final summary on stdout and
// nothing on stderr (no INFO log line) for a run without trouble.
func TestQuietIsQuiet(t *testing.T) {
	dir := t.TempDir()
	table, _ := traintest.NB201(t)
	cfg := tabularConfig(t, dir, table, "", 4)
	out, errOut, code := runUX(t, "evolve", "--config", cfg, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("--quiet wrote to stderr:\n%s", errOut)
	}
	if !strings.Contains(out, "4 trained") || strings.Count(out, "\n") != 1 {
		t.Errorf("--quiet stdout, want the one summary line:\n%s", out)
	}
}
