package tree

import (
	"strconv"
	"strings"
)

// Composite blocks (Node.Block) render as classes of their own, so an
// exported candidate reads as the search built it: the block is defined
// once and instantiated at each site, with its input width as the one
// constructor argument.

// blockClass is one rendered composite-block class.
type blockClass struct {
	class, body string
	generic     bool // the body uses c_in; otherwise its widths are fixed
}

// Two improbable widths: a body rendered at both that differs only where
// the literal appears uses the input width there and nowhere else.
const (
	sentinelA = 1000003
	sentinelB = 1000033
)

// block writes the instantiation of composite block n at input in and
// returns its output shape.
func (r *renderer) block(n *Node, in Shape, d int) Shape {
	plain := *n
	plain.Block = ""
	render := func(c int) (string, Shape) {
		save := r.b
		r.b = nil
		out := r.node(&plain, Shape{C: c, H: in.H, W: in.W}, 2)
		body := string(r.b)
		r.b = save
		return body, out
	}
	concrete, out := render(in.C)
	r.widthDependent = false
	a, _ := render(sentinelA)
	b, _ := render(sentinelB)
	ga := strings.ReplaceAll(a, strconv.Itoa(sentinelA), "c_in")
	gb := strings.ReplaceAll(b, strconv.Itoa(sentinelB), "c_in")
	bc := blockClass{body: concrete}
	if ga == gb && !r.widthDependent {
		bc = blockClass{body: ga, generic: true}
	}
	bc.class = r.blockName(n.Block, bc)
	r.b = append(r.b, bc.class...)
	r.b = append(r.b, '(')
	r.int(in.C)
	r.b = append(r.b, ')')
	return out
}

// blockName returns the class for body, defining it on first use: a block
// whose body differs between sites (fixed widths) gets a class per body.
func (r *renderer) blockName(block string, bc blockClass) string {
	base := "Block_" + block
	for i := range r.blocks {
		if r.blocks[i].body == bc.body && strings.HasPrefix(r.blocks[i].class, base) {
			return r.blocks[i].class
		}
	}
	name := base
	for k := 2; r.defined[name] || r.hasBlock(name); k++ {
		name = base + "_" + strconv.Itoa(k)
	}
	bc.class = name
	r.blocks = append(r.blocks, bc)
	return name
}

func (r *renderer) hasBlock(class string) bool {
	for _, b := range r.blocks {
		if b.class == class {
			return true
		}
	}
	return false
}

// writeBlocks appends the block classes to sb.
func (r *renderer) writeBlocks(sb *strings.Builder) {
	for _, b := range r.blocks {
		sb.WriteString("\n\nclass ")
		sb.WriteString(b.class)
		sb.WriteString("(nn.Module):\n    \"\"\"A composite block the search defined and placed at one or more sites.\"\"\"\n\n")
		sb.WriteString("    def __init__(self, c_in):\n        super().__init__()\n")
		if !b.generic {
			sb.WriteString("        # widths are fixed at this site\n")
		}
		sb.WriteString("        self.body = ")
		sb.WriteString(b.body)
		sb.WriteString("\n\n    def forward(self, x):\n        return self.body(x)\n")
	}
}
