package mine

import (
	"encoding/json"
	"strconv"
	"strings"
)

// parseLiteral converts a Python default value to JSON when it is a literal
// (numbers, strings, True/False/None, and tuples/lists of those); else nil.
func parseLiteral(src string) json.RawMessage {
	v, ok := pyLiteral(strings.TrimSpace(src))
	if !ok {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func pyLiteral(s string) (any, bool) {
	switch s {
	case "True":
		return true, true
	case "False":
		return false, true
	case "None":
		return nil, true
	case "":
		return nil, false
	}
	if n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil && !strings.ContainsAny(s, "xXnN") {
		return f, true
	}
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] && !strings.HasPrefix(s, `"""`) && !strings.HasPrefix(s, "'''") {
		body := s[1 : len(s)-1]
		if !strings.ContainsAny(body, "\\\"'") {
			return body, true
		}
		return nil, false
	}
	if len(s) >= 2 && ((s[0] == '(' && s[len(s)-1] == ')') || (s[0] == '[' && s[len(s)-1] == ']')) {
		inner := strings.TrimSpace(s[1 : len(s)-1])
		out := []any{}
		if inner == "" {
			return out, true
		}
		for _, part := range splitTop(inner) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			v, ok := pyLiteral(part)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	return nil, false
}

// splitTop splits on commas not nested in brackets or strings.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
