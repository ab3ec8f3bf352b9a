package llm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// TestPromptGolden renders the example decision in every category and
// compares with testdata/golden/<category>.txt (go test -update rewrites).
func TestPromptGolden(t *testing.T) {
	r, err := NewDefaultRenderer(DefaultConfig().Prompts)
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range Categories() {
		t.Run(string(cat), func(t *testing.T) {
			d := loadDecision(t)
			d.Category = cat
			p, err := r.Render(d, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := "=== system\n" + p.System + "=== user\n" + p.User
			path := filepath.Join("testdata", "golden", string(cat)+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./llm -run TestPromptGolden -update)", err)
			}
			if got != string(want) {
				t.Fatalf("prompt for %s differs from %s; rerun with -update if intended.\n--- got ---\n%s", cat, path, got)
			}
		})
	}
}

func TestPromptCategoriesDiffer(t *testing.T) {
	r, err := NewDefaultRenderer(DefaultConfig().Prompts)
	if err != nil {
		t.Fatal(err)
	}
	d := loadDecision(t)
	marks := map[Category]string{Exploit: "Winning edits near this parent", Reverse: "out 16 -> 24; reward 0, accuracy -1.05 points", Diversity: "(explored 3 times)"}
	for cat, mark := range marks {
		d.Category = cat
		p, err := r.Render(d, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.User, mark) {
			t.Errorf("%s prompt lacks %q", cat, mark)
		}
	}
}

func TestPromptOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	custom := `{{template "header" .}}
MY OWN STRATEGY for {{.Operation}}
{{template "options" .}}
`
	if err := os.WriteFile(filepath.Join(dir, "diversity.tmpl"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig().Prompts
	cfg.Dir = dir
	r, err := NewDefaultRenderer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := loadDecision(t)
	d.Category = Diversity
	p, err := r.Render(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.User, "MY OWN STRATEGY for swap_module") || strings.Contains(p.User, "Strategy: diversity") {
		t.Fatalf("override not used:\n%s", p.User)
	}
	if !strings.Contains(p.System, "You are a tool") {
		t.Fatal("the embedded system prompt should still be used")
	}
	d.Category = Exploit
	if p, _ := r.Render(d, 1); !strings.Contains(p.User, "Strategy: exploit") {
		t.Fatal("files not overridden must come from the embedded set")
	}
	if err := os.WriteFile(filepath.Join(dir, "exploit.tmpl"), []byte("{{.Nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDefaultRenderer(cfg); err == nil || !strings.Contains(err.Error(), "exploit.tmpl") {
		t.Fatalf("a broken override should name its file: %v", err)
	}
}

// bigDecision has n options over m modules with long sources.
func bigDecision(n, m, sourceLines int) Decision {
	var src strings.Builder
	for i := range sourceLines {
		fmt.Fprintf(&src, "        self.layer%d = nn.Conv2d(c, c, 3, padding=1)\n", i)
	}
	d := Decision{Operation: "insert_module", Category: Exploit, Parent: ParentSummary{Outline: "model: x"}}
	for i := range n {
		d.Options = append(d.Options, Option{
			ID: fmt.Sprintf("o%d", i+1), Path: fmt.Sprintf("backbone/stage%d/%d", i%3+1, i%5),
			Description: "insert a module",
			Module:      &ModuleInfo{ID: fmt.Sprintf("m%d", i%m), Name: fmt.Sprintf("Mod%d", i%m), Source: "class M(nn.Module):\n" + src.String()},
			Args:        []ArgRange{{Name: "width", Type: ArgInt, Min: 8, Max: 64}},
		})
	}
	return d
}

func TestPromptKeepsTheEnginesOptions(t *testing.T) {
	// Which options are offered is the engine's decision: the renderer
	// shows them all, in order, when they fit the token budget.
	cfg := DefaultConfig().Prompts
	r, err := NewDefaultRenderer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := bigDecision(12, 12, 3)
	p, err := r.Render(d, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(p.Shown)) != fmt.Sprint(ids(d.Options)) || p.Hidden != 0 {
		t.Fatalf("shown %v (hidden %d), want all 12 in order", ids(p.Shown), p.Hidden)
	}
	// Over budget, options are dropped from the end; a hidden option cannot
	// be chosen: the model was never shown it.
	cfg.MaxPromptTokens, cfg.MaxSourceTokens = 600, 0
	r, _ = NewDefaultRenderer(cfg)
	p, err = r.Render(d, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hidden == 0 || fmt.Sprint(ids(p.Shown)) != fmt.Sprint(ids(d.Options[:len(p.Shown)])) {
		t.Fatalf("shown %v hidden %d: want a prefix", ids(p.Shown), p.Hidden)
	}
	hidden := d.Options[len(p.Shown)].ID
	if _, err := ParseAnswer(`{"option":"`+hidden+`","args":{"width":8}}`, p.Shown); err == nil {
		t.Fatal("a hidden option was accepted")
	}
}

func TestPromptTokenBudget(t *testing.T) {
	cfg := DefaultConfig().Prompts
	cfg.MaxSourceTokens = 120
	cfg.MaxPromptTokens = 1500
	r, err := NewDefaultRenderer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := bigDecision(8, 8, 400)
	p, err := r.Render(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tokens > cfg.MaxPromptTokens {
		t.Fatalf("prompt has %d tokens, budget %d", p.Tokens, cfg.MaxPromptTokens)
	}
	if !strings.Contains(p.User, "more lines trimmed") && !strings.Contains(p.User, "source omitted") {
		t.Fatal("sources were not trimmed")
	}
	if len(p.Shown) == 0 {
		t.Fatal("no option left")
	}
	// Trimming keeps whole leading lines within the per-module budget.
	src := d.Options[0].Module.Source
	tr := trimSource(src, 120)
	body := tr[:strings.LastIndex(tr, "\n# ...")]
	if !strings.HasPrefix(src, body) || EstimateTokens(body) > 120 {
		t.Fatalf("trimmed source is not a prefix within budget: %d tokens", EstimateTokens(body))
	}
}

func ids(opts []Option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.ID
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestPromptDocs keeps docs/prompts.md equal to the rendered example
// decision (a swap) in every category, so the documentation shows what a
// model is really asked (go test ./llm -run TestPromptDocs -update).
func TestPromptDocs(t *testing.T) {
	r, err := NewDefaultRenderer(DefaultConfig().Prompts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# What the LLM is asked\n\n" +
		"Generated by `go test ./llm -run TestPromptDocs -update` from `llm/testdata/decision.json` (a swap decision:\n" +
		"the planner chose the operation and the category, the tools listed five pre-gated options) and the\n" +
		"templates in `prompts/`. Every option was built and measured before the call: its child's parameters\n" +
		"and FLOPs and their distance to the limits are shown, composite blocks come with their definitions,\n" +
		"and the lineage says what each swap replaced. `arbor llm try --run RUN --candidate ID` renders the\n" +
		"prompt of a stored decision of a real run the same way.\n")
	for _, cat := range Categories() {
		d := loadDecision(t)
		d.Category = cat
		p, err := r.Render(d, 1)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n## %s (%s)\n\nSystem:\n\n```\n%s```\n\nUser:\n\n```\n%s```\n", cat, d.Operation, p.System, p.User)
	}
	path := filepath.Join("..", "docs", "prompts.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./llm -run TestPromptDocs -update)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("%s is stale: run go test ./llm -run TestPromptDocs -update", path)
	}
}
