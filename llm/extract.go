package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxAnswerBytes bounds the text we are willing to scan; real answers are a
// few hundred bytes, and scanning is quadratic in the worst case.
const maxAnswerBytes = 64 << 10

// extractObject finds the one JSON object in a model's answer. Models wrap
// JSON in prose or code fences when they ignore response_format, so we look
// at the whole text, then at fenced blocks, then at every balanced {...}
// span. Several different objects are an error rather than a guess: picking
// one silently could execute an intent the model did not settle on.
func extractObject(text string) (map[string]any, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("the answer is empty; reply with one JSON object")
	}
	if len(text) > maxAnswerBytes {
		return nil, fmt.Errorf("the answer is %d bytes, more than %d; reply with one short JSON object", len(text), maxAnswerBytes)
	}
	if obj, err := decodeObject(text); err == nil {
		return obj, nil
	}
	var found []map[string]any
	var raws []string
	for _, span := range candidateSpans(text) {
		obj, err := decodeObject(span)
		if err != nil {
			continue
		}
		canon, _ := json.Marshal(obj)
		if !containsString(raws, string(canon)) {
			raws = append(raws, string(canon))
			found = append(found, obj)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no JSON object found in the answer; reply with exactly one JSON object")
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("the answer contains %d different JSON objects; reply with exactly one", len(found))
	}
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// decodeObject parses s as exactly one JSON object, keeping numbers exact so
// that 3 and 3.5 can be told apart for integer arguments.
func decodeObject(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("null is not an object")
	}
	if rest := s[dec.InputOffset():]; strings.TrimSpace(rest) != "" {
		return nil, errors.New("trailing data after the object")
	}
	return obj, nil
}

// candidateSpans returns fenced code blocks first and then every top-level
// balanced brace span outside strings. Nested objects are not returned on
// their own: an args object alone is not a choice.
func candidateSpans(text string) []string {
	var spans []string
	rest := text
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{}") {
			body = body[nl+1:] // drop the language tag line, e.g. ```json
		}
		j := strings.Index(body, "```")
		if j < 0 {
			break
		}
		if s := strings.TrimSpace(body[:j]); strings.HasPrefix(s, "{") {
			spans = append(spans, s)
		}
		rest = body[j+3:]
	}
	return append(spans, braceSpans([]byte(text))...)
}

func braceSpans(b []byte) []string {
	var spans []string
	depth, start := 0, -1
	inString, escaped := false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			if depth > 0 {
				inString = true
			}
		case '{':
			if depth == 0 {
				start = i
			}
			depth++
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				spans = append(spans, string(bytes.TrimSpace(b[start:i+1])))
			}
		}
	}
	return spans
}
