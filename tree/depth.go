package tree

import "fmt"

// MaxDepth is how deeply nodes may nest (the root is at depth 0). Real
// architectures nest a few levels (model, stage, block, residual body, op),
// and an evolved tree gains at most one level per wrap. The limit keeps the
// worst case of parsing and checking small: a deeper tree is refused at
// once, with this limit named, before any decoding.
const MaxDepth = 100

// depthError reports a tree nested deeper than MaxDepth.
func depthError(path string) error {
	return &NodeError{Path: shortPath(path), Reason: fmt.Sprintf("the tree nests deeper than %d levels (tree.MaxDepth); no architecture needs that, so it is refused", MaxDepth)}
}

// shortPath keeps error messages readable for deep paths.
func shortPath(p string) string {
	if len(p) <= 200 {
		return p
	}
	return p[:100] + "/…/" + p[len(p)-96:]
}

// checkJSONDepth scans data once, outside strings, and refuses a document
// whose objects and arrays nest deeper than a tree of MaxDepth node levels
// can: each node level is an object inside a "children" array (two JSON
// levels), plus the document object and room for argument lists. base is
// the JSON nesting of the first node (1 for a document, 0 for a lone node).
func checkJSONDepth(data []byte, base int) error {
	limit := base + 2*MaxDepth + 3
	depth := 0
	inString, escaped := false, false
	for i, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > limit {
				line, col := lineCol(data, i)
				return &ParseError{Line: line, Col: col, Msg: fmt.Sprintf("the tree nests deeper than %d levels (tree.MaxDepth); no architecture needs that, so it is refused", MaxDepth)}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
