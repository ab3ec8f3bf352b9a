package mine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/arbor-nas/arbor/train/atomicfile"
	"github.com/arbor-nas/arbor/tree"
)

// CatalogVersion is bumped whenever the catalog.json layout changes
// incompatibly; LoadCatalog rejects other versions.
const CatalogVersion = 1

// Status values of a mined module. Anything but StatusOK carries a Reason.
const (
	StatusOK          = "ok"
	StatusSyntaxError = "syntax-error"
	StatusUnresolved  = "unresolved"
	StatusNeedsArgs   = "needs-args"
)

// Catalog is the content of catalog.json.
type Catalog struct {
	Version  int       `json:"version"`
	Roots    []Root    `json:"roots"`
	Modules  []*Module `json:"modules"`
	Warnings []string  `json:"warnings"`
	// Probe records the probe settings once the catalog has been probed.
	Probe *ProbeSettings `json:"probe,omitempty"`
}

// ProbeSettings are the probe parameters a catalog's interfaces were
// measured with.
type ProbeSettings struct {
	Widths [3]int `json:"widths"`
	RefHW  int    `json:"ref_hw"`
}

// Root is one mined directory (or file).
type Root struct {
	Path    string `json:"path"`
	Package string `json:"package,omitempty"` // dotted package the root sits in, if any
	Commit  string `json:"commit,omitempty"`  // git HEAD when the root is in a repository
	Files   int    `json:"files"`
}

// Module is one mined nn.Module class.
type Module struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	QualName string   `json:"qualname"`
	Root     string   `json:"root"`
	File     string   `json:"file"` // slash path relative to Root
	Lines    [2]int   `json:"lines"`
	Doc      string   `json:"doc,omitempty"`
	Bases    []string `json:"bases"`
	Category string   `json:"category"`
	Status   string   `json:"status"`
	Reason   string   `json:"reason,omitempty"`
	AlsoIn   []string `json:"also_in,omitempty"` // merged identical copies

	Params       []Param `json:"params"`
	InitFrom     string  `json:"init_from,omitempty"` // class whose __init__ is inherited
	Forward      []Param `json:"forward,omitempty"`
	TensorInputs int     `json:"tensor_inputs"`
	// SizeArgs: forward also takes the spatial size: "size" (x, (H, W)) or
	// "hw" (x, H, W); the token adapter passes it.
	SizeArgs   string      `json:"size_args,omitempty"`
	Submodules []Submodule `json:"submodules,omitempty"`

	// Guess is how the probe will call the constructor.
	Guess *Guess `json:"guess,omitempty"`
	// Source is the standalone bundle: the class plus everything it uses.
	Source string `json:"source,omitempty"`

	Usable    *bool      `json:"usable,omitempty"`
	ProbeErr  string     `json:"probe_error,omitempty"`
	Interface *Interface `json:"interface,omitempty"`
}

// Param is a constructor or forward parameter.
type Param struct {
	Name       string          `json:"name"`
	Kind       string          `json:"kind"` // positional, keyword, var-positional, var-keyword
	Default    string          `json:"default,omitempty"`
	HasDefault bool            `json:"has_default,omitempty"`
	Literal    json.RawMessage `json:"literal,omitempty"` // Default parsed, when it is a literal
	Annotation string          `json:"annotation,omitempty"`
}

// Submodule is a `self.name = Callee(...)` assignment in __init__.
type Submodule struct {
	Name string `json:"name"`
	Call string `json:"call"`
}

// Interface is what the probe measured in PyTorch.
type Interface struct {
	InArg          string          `json:"in_arg,omitempty"`
	OutArg         string          `json:"out_arg,omitempty"`
	SameWidth      bool            `json:"same_width"`
	StrideArg      string          `json:"stride_arg,omitempty"`
	PreservesShape bool            `json:"preserves_shape"`
	Inputs         int             `json:"inputs"`
	FixedArgs      map[string]any  `json:"fixed_args,omitempty"`
	Tunable        []tree.ArgRange `json:"tunable,omitempty"`
	Widths         [3]int          `json:"widths"`
	Params         [3]int64        `json:"params"`
	MACs           [3]int64        `json:"macs"`
	ParamPoly      [3]float64      `json:"param_poly"`
	MACPoly        [3]float64      `json:"mac_poly"`
	RefHW          int             `json:"ref_hw"`
	OutShape       []int           `json:"out_shape,omitempty"` // (C,H,W) at the first width

	// Layout is the tensor layout forward takes ("" NCHW; see tree.LayoutTokens).
	Layout string `json:"layout,omitempty"`
	// SizeArgs: the module's forward also takes (H, W) ("size") or H, W ("hw").
	SizeArgs string `json:"size_args,omitempty"`
	// OutRatio: the output is OutRatio x OutArg's value (Bottleneck expansion).
	OutRatio int `json:"out_ratio,omitempty"`
	// OutLinear: output width = OutLinear[0] + OutLinear[1] * input width.
	OutLinear *[2]float64 `json:"out_linear,omitempty"`
	// Downsample s: H and W are divided by s (H, W multiples of s);
	// OutHW k: the output is k x k whatever the input (a global pool).
	Downsample int `json:"downsample,omitempty"`
	OutHW      int `json:"out_hw,omitempty"`
	// MinHW: the probe needed an input this large (H, W >= MinHW).
	MinHW int `json:"min_hw,omitempty"`
	// HWAdd d: H and W change by d (padding +2, an unpadded 3x3 -2).
	HWAdd int `json:"hw_add,omitempty"`
	// WidthMultiple: widths had to be multiples of it (probe result).
	WidthMultiple int `json:"width_multiple,omitempty"`
	// WidthRules: arguments whose value must divide the width.
	WidthRules []tree.WidthRule `json:"width_rules,omitempty"`
	// CallableArgs: layer-class arguments and the table entry the probe used.
	CallableArgs []tree.CallableArg `json:"callable_args,omitempty"`
}

// Usable reports whether the probe found the module usable in a tree.
func (m *Module) IsUsable() bool { return m.Usable != nil && *m.Usable }

// LoadCatalog reads a catalog.json written by Save.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", path, err)
	}
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("catalog %s is not valid JSON: %w", path, err)
	}
	if c.Version != CatalogVersion {
		return nil, fmt.Errorf("catalog %s: version %d, this arbor reads version %d (re-run `arbor mine`)", path, c.Version, CatalogVersion)
	}
	for i, m := range c.Modules {
		if m == nil || m.ID == "" || m.Name == "" {
			return nil, fmt.Errorf("catalog %s: modules[%d] lacks id or name", path, i)
		}
	}
	return &c, nil
}

// Save writes the catalog atomically (temp file + rename). The layout puts
// one module per line, so diffs of catalogs stay readable and encoding
// stays fast; an unchanged file is not rewritten.
func (c *Catalog) Save(path string) error {
	b, err := c.encode()
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

func (c *Catalog) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	line := func(prefix string, v any) error {
		buf.WriteString(prefix)
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	fmt.Fprintf(&buf, "{\n\"version\": %d,\n", c.Version)
	if err := line("\"roots\": ", orEmpty(c.Roots)); err != nil {
		return nil, err
	}
	buf.WriteString(",\n\"warnings\": ")
	if err := line("", orEmpty(c.Warnings)); err != nil {
		return nil, err
	}
	if c.Probe != nil {
		if err := line(",\n\"probe\": ", c.Probe); err != nil {
			return nil, err
		}
	}
	buf.WriteString(",\n\"modules\": [")
	for i, m := range c.Modules {
		sep := "\n"
		if i > 0 {
			sep = ",\n"
		}
		if err := line(sep, m); err != nil {
			return nil, err
		}
	}
	buf.WriteString("\n]\n}\n")
	return buf.Bytes(), nil
}

// orEmpty is s, or an empty slice for nil, so JSON says [] and not null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Find returns the module with this ID, qualified name or (unique) class name.
func (c *Catalog) Find(key string) (*Module, error) {
	var byName []*Module
	for _, m := range c.Modules {
		if m.ID == key || m.QualName == key {
			return m, nil
		}
		if m.Name == key {
			byName = append(byName, m)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return nil, fmt.Errorf("no module %q in catalog (use a name, qualname or id from `arbor catalog list`)", key)
	}
	var q []string
	for _, m := range byName {
		q = append(q, m.QualName)
	}
	return nil, fmt.Errorf("name %q is ambiguous; use one of: %s", key, strings.Join(q, ", "))
}

// Counts returns (modules, ok, usable).
func (c *Catalog) Counts() (n, ok, usable int) {
	for _, m := range c.Modules {
		n++
		if m.Status == StatusOK {
			ok++
		}
		if m.IsUsable() {
			usable++
		}
	}
	return n, ok, usable
}

// Specs converts every usable module into the tree package's contract.
func (c *Catalog) Specs() tree.MapCatalog {
	out := tree.MapCatalog{}
	for _, m := range c.Modules {
		if s := m.Spec(); s != nil {
			out[s.ID] = s
		}
	}
	return out
}

// Spec returns the tree contract for a usable module, or nil.
func (m *Module) Spec() *tree.ModuleSpec {
	if !m.IsUsable() || m.Interface == nil {
		return nil
	}
	in := m.Interface
	fixed := make(map[string]any, len(in.FixedArgs))
	for k, v := range in.FixedArgs {
		fixed[k] = v
	}
	tun := append([]tree.ArgRange(nil), in.Tunable...)
	sort.Slice(tun, func(i, j int) bool { return tun[i].Name < tun[j].Name })
	s := &tree.ModuleSpec{
		ID: m.ID, Name: m.Name, QualName: m.QualName, Category: m.Category,
		Source: m.Source, InArg: in.InArg, OutArg: in.OutArg, SameWidth: in.SameWidth,
		StrideArg: in.StrideArg, PreservesShape: in.PreservesShape, Inputs: in.Inputs,
		FixedArgs: fixed, Tunable: tun, ParamPoly: in.ParamPoly, MACPoly: in.MACPoly, RefHW: in.RefHW,
		Layout: in.Layout, SizeArgs: in.SizeArgs, OutRatio: in.OutRatio, Downsample: in.Downsample, OutHW: in.OutHW, HWAdd: in.HWAdd, MinHW: in.MinHW, OutLinear: in.OutLinear, WidthMultiple: in.WidthMultiple,
		WidthRules: append([]tree.WidthRule(nil), in.WidthRules...), CallableArgs: append([]tree.CallableArg(nil), in.CallableArgs...),
	}
	if in.SameWidth && in.InArg != "" && in.OutArg != "" && in.InArg != in.OutArg && in.OutRatio <= 1 {
		// The module has an output-width argument that must equal the input
		// width (BasicBlock without a downsample). The tree passes only
		// InArg to same-width modules, so a subclass ties the two.
		s.Name = m.Name + "SameWidth"
		s.OutArg = ""
		s.Source = strings.TrimRight(m.Source, "\n") + fmt.Sprintf(`


class %[1]s(%[2]s):
    """arbor adapter: the probe found %[4]s must equal %[3]s."""

    def __init__(self, %[3]s, **kwargs):
        kwargs[%[4]q] = %[3]s
        super().__init__(%[3]s=%[3]s, **kwargs)
`, s.Name, m.Name, in.InArg, in.OutArg)
	}
	return s
}
