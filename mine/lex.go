package mine

// freeNames lists the identifiers in Python source that could refer to a
// global: every name token not preceded by '.', outside strings and
// comments, minus keywords. It over-approximates (locals are included), which
// only makes a bundle carry an unneeded definition, never miss one. A
// hand-written scan is used instead of walking tree-sitter nodes because
// every node visit is a cgo call and this runs over whole files.
func freeNames(src []byte) []string {
	seen := map[string]bool{}
	var out []string
	afterDot := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i = skipString(src, i)
			afterDot = false
		case c == '.':
			afterDot = true
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			// String prefixes (r"", f'', b"", rb"") belong to the literal.
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && j-i <= 2 && isStrPrefix(src[i:j]) {
				i = skipString(src, j)
				afterDot = false
				continue
			}
			name := string(src[i:j])
			if !afterDot && !isKeyword(name) && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
			afterDot = false
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\':
			i++
		default:
			afterDot = false
			i++
		}
	}
	return out
}

func skipString(src []byte, i int) int {
	q := src[i]
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		for j := i + 3; j < len(src); j++ {
			if src[j] == '\\' {
				j++
				continue
			}
			if src[j] == q && j+2 < len(src) && src[j+1] == q && src[j+2] == q {
				return j + 3
			}
		}
		return len(src)
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(src)
}

func isStrPrefix(p []byte) bool {
	for _, c := range p {
		switch c {
		case 'r', 'R', 'b', 'B', 'f', 'F', 'u', 'U':
		default:
			return false
		}
	}
	return true
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isKeyword(s string) bool {
	switch s {
	case "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "self":
		return true
	}
	return false
}

// renameNames replaces whole identifiers of src found in rename, with the
// same token rules as freeNames: attribute names (after '.'), strings and
// comments are left alone.
func renameNames(src string, rename map[string]string) string {
	if len(rename) == 0 {
		return src
	}
	var b []byte
	last := 0
	afterDot := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i = skipString([]byte(src), i)
			afterDot = false
		case c == '.':
			afterDot = true
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && j-i <= 2 && isStrPrefix([]byte(src[i:j])) {
				i = skipString([]byte(src), j)
				afterDot = false
				continue
			}
			if nn, ok := rename[src[i:j]]; ok && !afterDot {
				b = append(b, src[last:i]...)
				b = append(b, nn...)
				last = j
			}
			afterDot = false
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\':
			i++
		default:
			afterDot = false
			i++
		}
	}
	if b == nil {
		return src
	}
	return string(append(b, src[last:]...))
}
