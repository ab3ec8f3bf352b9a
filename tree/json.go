package tree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The JSON form of a tree:
//
//	{"schema": 1, "input": [C, H, W], "classes": N, "root": NODE}
//
// and of a node:
//
//	{"kind": "seq|residual|branch|repeat|cell|op|module", "name": "stage2",
//	 "op": "conv2d", "module": "catalog-id", "args": {"out": 32}, "children": [NODE...]}

type jsonTree struct {
	Schema  *int      `json:"schema"`
	Input   []int     `json:"input"`
	Classes int       `json:"classes"`
	Root    *jsonNode `json:"root"`
}

// jsonNode decodes a whole subtree in the one pass over the document, so
// parsing is linear in its size however deeply it nests.
type jsonNode struct {
	Kind     string                     `json:"kind"`
	Name     string                     `json:"name"`
	Op       string                     `json:"op"`
	Module   string                     `json:"module"`
	Block    string                     `json:"block"`
	Args     map[string]json.RawMessage `json:"args"`
	Children []*jsonNode                `json:"children"`
}

// Parse reads a tree from JSON and validates its structure and arguments
// (not shapes: see Check). Malformed JSON gives a *ParseError with line and
// column; validation errors name the node path.
func Parse(data []byte) (*Tree, error) {
	if err := checkJSONDepth(data, 1); err != nil {
		return nil, err
	}
	var jt jsonTree
	if err := decodeStrict(data, &jt, 0); err != nil {
		return nil, err
	}
	if jt.Schema != nil && *jt.Schema != SchemaVersion {
		return nil, fmt.Errorf("tree schema %d is not supported; this arbor reads schema %d", *jt.Schema, SchemaVersion)
	}
	if len(jt.Input) != 3 {
		return nil, fmt.Errorf("tree field \"input\": want [C, H, W], got %v", jt.Input)
	}
	if jt.Root == nil {
		return nil, fmt.Errorf("tree field \"root\" is missing")
	}
	t := &Tree{Input: Shape{jt.Input[0], jt.Input[1], jt.Input[2]}, Classes: jt.Classes}
	root, err := buildNode(jt.Root, "/")
	if err != nil {
		return nil, err
	}
	t.Root = root
	if t.Input.C < 1 || t.Input.H < 1 || t.Input.W < 1 {
		return nil, fmt.Errorf("tree field \"input\": %v must be three positive integers", jt.Input)
	}
	if t.Classes < 1 {
		return nil, fmt.Errorf("tree field \"classes\": %d must be >= 1", t.Classes)
	}
	if err := validateStructure("/", t.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseNode reads one node (e.g. a candidate for Insert or Swap) and
// validates its structure and arguments.
func ParseNode(data []byte) (*Node, error) {
	if err := checkJSONDepth(data, 0); err != nil {
		return nil, err
	}
	var jn jsonNode
	if err := decodeStrict(data, &jn, 0); err != nil {
		return nil, err
	}
	n, err := buildNode(&jn, "/")
	if err != nil {
		return nil, err
	}
	if err := validateStructure("/", n); err != nil {
		return nil, err
	}
	return n, nil
}

// decodeStrict decodes with unknown fields rejected and positions reported
// relative to the whole document (base is raw's offset in full).
func decodeStrict(full []byte, v any, base int) error {
	raw := full[base:]
	if base == 0 {
		raw = full
	}
	return decodeAt(full, raw, base, v)
}

func decodeAt(full, raw []byte, base int, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		off := int(dec.InputOffset()) // offset of the offending byte in raw
		msg := err.Error()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			off = int(se.Offset) - 1 // Offset counts the bad byte
		case errors.As(err, &te):
			off = int(te.Offset) - 1
			msg = fmt.Sprintf("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			msg = "empty document"
		case errors.Is(err, io.ErrUnexpectedEOF):
			off = len(raw)
			msg = "unexpected end of JSON"
		case strings.HasPrefix(msg, "json: unknown field "):
			field := strings.TrimPrefix(msg, "json: unknown field ")
			if i := bytes.Index(raw, []byte(field)); i >= 0 {
				off = i
			}
			msg += " (allowed: schema, input, classes, root; in nodes: kind, name, op, module, block, args, children)"
		}
		line, col := lineCol(full, base+off)
		return &ParseError{Line: line, Col: col, Msg: strings.TrimPrefix(msg, "json: ")}
	}
	if dec.More() {
		off := int(dec.InputOffset())
		for off < len(raw) && (raw[off] == ' ' || raw[off] == '\n' || raw[off] == '\t' || raw[off] == '\r') {
			off++
		}
		line, col := lineCol(full, base+off)
		return &ParseError{Line: line, Col: col, Msg: "unexpected data after the JSON value"}
	}
	return nil
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	off = max(0, min(off, len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// buildNode turns a decoded node into a Node, parsing argument values and
// naming the path of any that is bad.
func buildNode(jn *jsonNode, path string) (*Node, error) {
	if jn == nil {
		return nil, &NodeError{Path: path, Reason: "null node"}
	}
	n := &Node{Kind: Kind(jn.Kind), Name: jn.Name, Op: jn.Op, Module: jn.Module, Block: jn.Block}
	if len(jn.Args) > 0 {
		n.Args = make(map[string]Value, len(jn.Args))
		for k, rv := range jn.Args {
			v, err := parseValue(rv)
			if err != nil {
				return nil, &ArgError{Path: path, Arg: k, Reason: err.Error()}
			}
			n.Args[k] = v
		}
	}
	if len(jn.Children) > 0 {
		n.Children = make([]*Node, 0, len(jn.Children))
	}
	for i, jc := range jn.Children {
		name := fmt.Sprintf("[%d]", i)
		if jc != nil && jc.Name != "" {
			name = jc.Name
		}
		ch, err := buildNode(jc, childPath(path, name))
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, ch)
	}
	return n, nil
}

func parseValue(raw json.RawMessage) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return Value{}, err
	}
	switch x.(type) {
	case nil:
		return Value{}, errors.New("null is not a value; omit the argument to use its default")
	case map[string]any:
		return Value{}, errors.New("objects are not argument values; use a number, bool, string or list of ints")
	}
	v, ok := valueFromAny(x)
	if !ok {
		return Value{}, fmt.Errorf("%s is not a number, bool, string or list of integers", string(raw))
	}
	return v, nil
}

// validateStructure checks what can be checked without shapes or a
// catalog: kinds, ops, names, child counts, primitive and cell arguments.
func validateStructure(path string, n *Node) error {
	if n.Block != "" && (n.Kind != KindSeq || !validName(n.Block)) {
		return &NodeError{Path: path, Reason: fmt.Sprintf("block %q: only a seq can be a composite block, and its name must match [A-Za-z_][A-Za-z0-9_]*", n.Block)}
	}
	switch n.Kind {
	case KindSeq, KindResidual, KindBranch, KindRepeat:
		if err := checkChildNames(pathLiteral(path), n); err != nil {
			return err
		}
		if n.Kind == KindRepeat && len(n.Children) != 1 {
			return &NodeError{Path: path, Reason: fmt.Sprintf("a repeat node has exactly one child, got %d", len(n.Children))}
		}
		if n.Kind == KindBranch && len(n.Children) == 0 {
			return &NodeError{Path: path, Reason: "a branch needs at least one child"}
		}
		if err := checkArgs(path, n, nodeArgSpecs(n)); err != nil {
			return err
		}
		for _, c := range n.Children {
			if err := validateStructure(childPath(path, c.Name), c); err != nil {
				return err
			}
		}
		return nil
	case KindOp:
		spec := primitive(n.Op)
		if spec == nil {
			return &NodeError{Path: path, Reason: fmt.Sprintf("unknown op %q; primitives are %v", n.Op, PrimitiveNames())}
		}
		if err := checkArgs(path, n, spec.Args); err != nil {
			return err
		}
	case KindCell:
		if err := checkCell(path, n); err != nil {
			return err
		}
	case KindModule:
		if n.Module == "" {
			return &NodeError{Path: path, Reason: "a module node needs a \"module\" catalog ID"}
		}
	default:
		return &NodeError{Path: path, Reason: fmt.Sprintf("unknown kind %q; kinds are %v", n.Kind, Kinds())}
	}
	if len(n.Children) != 0 {
		return &NodeError{Path: path, Reason: fmt.Sprintf("a %s node has no children, got %d", n.Kind, len(n.Children))}
	}
	return nil
}

// pathLiteral wraps an already built path string as a pathRef.
func pathLiteral(path string) *pathRef {
	parts, _ := splitPath(path)
	p := &pathRef{}
	for _, s := range parts {
		p = &pathRef{p, s, p.depth + 1}
	}
	return p
}

// Canonical returns the canonical JSON of t: sorted keys, arguments at their
// default omitted, schema version included, indented two spaces.
func (t *Tree) Canonical() ([]byte, error) {
	if t == nil || t.Root == nil {
		return nil, errors.New("tree has no root")
	}
	var out bytes.Buffer
	if err := json.Indent(&out, appendTree(nil, t, true), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// MarshalJSON implements json.Marshaler with the compact canonical form.
func (t *Tree) MarshalJSON() ([]byte, error) {
	if t == nil || t.Root == nil {
		return nil, errors.New("tree has no root")
	}
	return appendTree(nil, t, true), nil
}

// UnmarshalJSON implements json.Unmarshaler with Parse.
func (t *Tree) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*t = *p
	return nil
}

// MarshalJSON implements json.Marshaler with the node's canonical form.
func (n *Node) MarshalJSON() ([]byte, error) { return appendNode(nil, n, true, false), nil }

// UnmarshalJSON implements json.Unmarshaler with ParseNode.
func (n *Node) UnmarshalJSON(data []byte) error {
	p, err := ParseNode(data)
	if err != nil {
		return err
	}
	*n = *p
	return nil
}

func appendTree(b []byte, t *Tree, names bool) []byte {
	b = append(b, `{"classes":`...)
	b = appendNum(b, float64(t.Classes))
	b = append(b, `,"input":[`...)
	b = appendNum(b, float64(t.Input.C))
	b = append(b, ',')
	b = appendNum(b, float64(t.Input.H))
	b = append(b, ',')
	b = appendNum(b, float64(t.Input.W))
	b = append(b, `],"root":`...)
	b = appendNode(b, t.Root, names, !names)
	b = append(b, `,"schema":`...)
	b = appendNum(b, SchemaVersion)
	return append(b, '}')
}

// appendNode writes n canonically. names=false drops names (for the
// structural hash); flatten=true inlines seq children of seq nodes, which
// compute the same function.
func appendNode(b []byte, n *Node, names, flatten bool) []byte {
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	if len(n.Args) > 0 {
		var keysArr [16]string
		keys := keysArr[:0]
		specs := nodeArgSpecsForCanon(n)
		for k, v := range n.Args {
			if s := findSpecCanon(n, specs, k); s != nil && isDefault(n, s, v) {
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) > 0 {
			insertionSort(keys)
			key("args")
			b = append(b, '{')
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, k)
				b = append(b, ':')
				b = n.Args[k].appendJSON(b)
			}
			b = append(b, '}')
		}
	}
	if names && n.Block != "" {
		key("block")
		b = appendJSONString(b, n.Block)
	}
	if len(n.Children) > 0 {
		key("children")
		b = append(b, '[')
		b = appendChildren(b, n, names, flatten, true)
		b = append(b, ']')
	}
	key("kind")
	b = appendJSONString(b, string(n.Kind))
	if n.Module != "" {
		key("module")
		b = appendJSONString(b, n.Module)
	}
	if names && n.Name != "" {
		key("name")
		b = appendJSONString(b, n.Name)
	}
	if n.Op != "" {
		key("op")
		b = appendJSONString(b, n.Op)
	}
	return append(b, '}')
}

func appendChildren(b []byte, n *Node, names, flatten, first bool) []byte {
	var prev *Node
	for _, c := range n.Children {
		if flatten && n.Kind == KindSeq && noOpAfter(prev, c) {
			continue // computes the same function: the structural hash ignores it
		}
		prev = c
		if flatten && n.Kind == KindSeq && c.Kind == KindSeq && len(c.Args) == 0 {
			if len(c.Children) > 0 {
				b = appendChildren(b, c, names, flatten, first)
				first = false
			}
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendNode(b, c, names, flatten)
	}
	return b
}

// noOpAfter reports whether c, as the child of a seq that follows prev,
// leaves its input unchanged: an identity, or an idempotent activation
// right after the same one (relu after relu). Such a child is a functional
// no-op, so the structural hash drops it.
func noOpAfter(prev, c *Node) bool {
	if c.Kind != KindOp {
		return false
	}
	switch c.Op {
	case "identity":
		return true
	case "relu", "relu6":
		return prev != nil && prev.Kind == KindOp && prev.Op == c.Op && len(prev.Args) == 0 && len(c.Args) == 0
	}
	return false
}

// nodeArgSpecsForCanon returns the specs used to omit defaults; module
// arguments have no catalog here and are always kept.
func nodeArgSpecsForCanon(n *Node) []ArgSpec {
	if n.Kind == KindCell {
		return nil
	}
	return nodeArgSpecs(n)
}

func findSpecCanon(n *Node, specs []ArgSpec, k string) *ArgSpec {
	if n.Kind == KindCell {
		switch k {
		case "nodes":
			return &cellNodesSpec
		case "tie":
			return &cellTieSpec
		}
		if v, ok := n.Args[k].AsString(); ok && v == CellNone {
			if _, _, ok := parseEdge(k); ok {
				s := cellEdgeSpec(k)
				return &s
			}
		}
		return nil
	}
	return findSpec(specs, k)
}

func insertionSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
