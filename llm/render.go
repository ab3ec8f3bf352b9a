package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/arbor-nas/arbor/prompts"
)

// historyShown is how many recent lineage steps a prompt includes.
const historyShown = 8

// Prompt is a rendered prompt and the options it showed. Only the shown
// options may be chosen: the model cannot know about the others.
type Prompt struct {
	System string
	User   string
	Shown  []Option
	Hidden int // options left out to respect the token budget
	Tokens int // estimated tokens of System + User
}

// Renderer renders decisions with the prompt templates.
type Renderer struct {
	system        *template.Template
	codegenSystem *template.Template
	codegen       *template.Template
	byCat         map[Category]*template.Template
	cfg           PromptConfig
}

// NewRenderer parses the templates from fsys (see prompts.Open).
func NewRenderer(fsys fs.FS, cfg PromptConfig) (*Renderer, error) {
	funcs := template.FuncMap{"indent": indent}
	r := &Renderer{byCat: map[Category]*template.Template{}, cfg: cfg}
	sys, err := template.New("system.tmpl").Funcs(funcs).ParseFS(fsys, "system.tmpl")
	if err != nil {
		return nil, fmt.Errorf("prompt template system.tmpl: %w", err)
	}
	r.system = sys
	if r.codegenSystem, err = template.New("codegen_system.tmpl").ParseFS(fsys, "codegen_system.tmpl"); err != nil {
		return nil, fmt.Errorf("prompt template codegen_system.tmpl: %w", err)
	}
	if r.codegen, err = template.New("codegen.tmpl").ParseFS(fsys, "codegen.tmpl"); err != nil {
		return nil, fmt.Errorf("prompt template codegen.tmpl: %w", err)
	}
	for _, c := range Categories() {
		name := string(c) + ".tmpl"
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, "partials.tmpl", name)
		if err != nil {
			return nil, fmt.Errorf("prompt template %s: %w", name, err)
		}
		r.byCat[c] = t
	}
	return r, nil
}

// NewDefaultRenderer uses the embedded templates overlaid by cfg.Dir.
func NewDefaultRenderer(cfg PromptConfig) (*Renderer, error) {
	return NewRenderer(prompts.Open(cfg.Dir), cfg)
}

type promptView struct {
	Operation   string
	Category    Category
	Metrics     []metricView
	Outline     string
	History     []Step // the parent's ancestors, oldest first
	Tried       []Step // the parent's children already tried, oldest first
	Wins        []Step // winning edits (ancestors and tried), most recent first
	Losses      []Step // losing edits, most recent first
	RecentPaths []string
	ShowUses    bool // diversity: how explored each option is
	Options     []optionView
	Hidden      int
	Limits      string // the constraints, "" when none
}

type metricView struct{ Name, Value string }

type optionView struct {
	ID, Path, Description string
	Module                *ModuleInfo
	Args                  []argView
	Uses                  int
	Children              []string // the child's size and distance to the limits, per argument value
}

type argView struct{ Name, Describe string }

// Render builds the prompt for d. Which options are offered, and in what
// order, is the engine's decision (evolve.max_options); the renderer only
// fits the prompt to the token budget: module sources are cut to
// MaxSourceTokens, then further, and finally options are dropped from the
// end of the list until the whole prompt fits MaxPromptTokens. seed is
// unused and kept for the signature.
func (r *Renderer) Render(d Decision, seed uint64) (Prompt, error) {
	t, ok := r.byCat[d.Category]
	if !ok {
		return Prompt{}, fmt.Errorf("render prompt: no template for category %q", d.Category)
	}
	var sys bytes.Buffer
	if err := r.system.Execute(&sys, d); err != nil {
		return Prompt{}, fmt.Errorf("render system.tmpl: %w", err)
	}
	n := len(d.Options)
	srcBudget := r.cfg.MaxSourceTokens
	for {
		shown := d.Options[:n]
		var user bytes.Buffer
		if err := t.Execute(&user, r.view(d, shown, len(d.Options)-n, srcBudget)); err != nil {
			return Prompt{}, fmt.Errorf("render %s.tmpl: %w", d.Category, err)
		}
		p := Prompt{System: sys.String(), User: user.String(), Shown: shown, Hidden: len(d.Options) - n}
		p.Tokens = EstimateTokens(p.System) + EstimateTokens(p.User)
		switch {
		case p.Tokens <= r.cfg.MaxPromptTokens || (n == 1 && srcBudget == 0):
			return p, nil
		case srcBudget > 0:
			srcBudget /= 2
			if srcBudget < 16 {
				srcBudget = 0
			}
		default:
			n = max(1, n*3/4)
		}
	}
}

// EstimateTokens is a cheap, tokenizer-free estimate (about four bytes a
// token for English and code), used only for budgeting.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

func (r *Renderer) view(d Decision, shown []Option, hidden, srcBudget int) promptView {
	v := promptView{Operation: d.Operation, Category: d.Category, Outline: strings.TrimRight(d.Parent.Outline, "\n"), Hidden: hidden,
		ShowUses: d.Category == Diversity}
	names := make([]string, 0, len(d.Parent.Metrics))
	for k := range d.Parent.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v.Metrics = append(v.Metrics, metricView{k, strconv.FormatFloat(d.Parent.Metrics[k], 'g', 6, 64)})
	}
	h := d.Parent.History
	if len(h) > historyShown {
		h = h[len(h)-historyShown:]
	}
	for _, st := range h {
		if st.Tried {
			v.Tried = append(v.Tried, st)
		} else {
			v.History = append(v.History, st)
		}
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Reward == 1 {
			v.Wins = append(v.Wins, h[i])
		} else {
			v.Losses = append(v.Losses, h[i])
		}
	}
	for i := len(h) - 1; i >= 0 && len(v.RecentPaths) < 5; i-- {
		if p := h[i].Path; p != "" && !slices.Contains(v.RecentPaths, p) {
			v.RecentPaths = append(v.RecentPaths, p)
		}
	}
	v.Limits = limitsLine(d.Limits)
	for _, o := range shown {
		ov := optionView{ID: o.ID, Path: o.Path, Description: o.Description, Uses: o.Uses}
		for _, c := range o.Children {
			ov.Children = append(ov.Children, childLine(c, d.Limits))
		}
		if o.Module != nil {
			m := *o.Module
			m.Source = trimSource(m.Source, srcBudget)
			ov.Module = &m
		}
		for _, a := range o.Args {
			desc := a.Type
			switch {
			case a.Type == ArgEnum || len(a.Choices) > 0:
				desc += " one of [" + strings.Join(a.Choices, ", ") + "]"
			case a.Bounded():
				desc += fmt.Sprintf(" in [%v, %v]", a.Min, a.Max)
			}
			if a.Default != nil {
				def, _ := json.Marshal(a.Default) // decoded JSON values always marshal
				desc += ", default " + string(def)
			}
			ov.Args = append(ov.Args, argView{a.Name, desc})
		}
		v.Options = append(v.Options, ov)
	}
	return v
}

// trimSource keeps whole leading lines of src within budget tokens and says
// how much was cut, so the model knows the source is partial.
func trimSource(src string, budget int) string {
	src = strings.TrimRight(src, "\n")
	if EstimateTokens(src) <= budget {
		return src
	}
	if budget == 0 {
		return "# (source omitted to fit the prompt budget)"
	}
	lines := strings.Split(src, "\n")
	used, keep := 0, 0
	for keep < len(lines) {
		t := EstimateTokens(lines[keep]) + 1
		if used+t > budget {
			break
		}
		used += t
		keep++
	}
	return strings.Join(lines[:keep], "\n") + fmt.Sprintf("\n# ... %d more lines trimmed", len(lines)-keep)
}

// indent pads every non-empty line, leaving no trailing spaces.
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		} else {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// limitsLine states the constraints ("" when there are none).
func limitsLine(l ChildLimits) string {
	var parts []string
	if l.MaxParams > 0 {
		parts = append(parts, "at most "+count(l.MaxParams)+" parameters")
	}
	if l.MaxFLOPs > 0 {
		parts = append(parts, "at most "+count(l.MaxFLOPs)+" FLOPs (multiply-accumulates per image)")
	}
	return strings.Join(parts, ", ")
}

// childLine is one child's size and its distance to the limits, e.g.
// "kernel=5: 274.5k params (1.23M under the limit), 41.2M FLOPs (158.8M under)".
func childLine(c ChildCost, l ChildLimits) string {
	var b strings.Builder
	if c.Value != "" {
		b.WriteString(c.Value + ": ")
	}
	b.WriteString(count(c.Params) + " params")
	if l.MaxParams > 0 {
		fmt.Fprintf(&b, " (%s under the limit)", count(l.MaxParams-c.Params))
	}
	b.WriteString(", " + count(c.FLOPs) + " FLOPs")
	if l.MaxFLOPs > 0 {
		fmt.Fprintf(&b, " (%s under the limit)", count(l.MaxFLOPs-c.FLOPs))
	}
	return b.String()
}

// count is n in a short readable form: 950, 274.5k, 1.23M, 2.1G.
func count(n int64) string {
	x := float64(n)
	switch a := max(x, -x); {
	case a >= 1e9:
		return strconv.FormatFloat(x/1e9, 'f', 2, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(x/1e6, 'f', 2, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(x/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}
