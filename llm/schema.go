package llm

import (
	"encoding/json"
	"slices"
)

// answerSchema is the JSON schema sent with response_format when
// llm.structured is true. It pins the option to the shown IDs and lists the
// union of their argument names; per-option checks stay with validation,
// since a schema cannot be trusted to be honoured by every server.
func answerSchema(shown []Option) json.RawMessage {
	ids := make([]string, len(shown))
	props := map[string]any{}
	for i, o := range shown {
		ids[i] = o.ID
		for _, a := range o.Args {
			s := argSchema(a)
			prev, seen := props[a.Name].(map[string]any)
			switch {
			case !seen:
				props[a.Name] = s
			case prev["type"] != s["type"]:
				props[a.Name] = map[string]any{} // options disagree: any type
			}
		}
	}
	slices.Sort(ids)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"option":    map[string]any{"type": "string", "enum": ids},
			"args":      map[string]any{"type": "object", "properties": props, "additionalProperties": false},
			"rationale": map[string]any{"type": "string"},
		},
		"required":             []string{"option", "args", "rationale"},
		"additionalProperties": false,
	}
	b, _ := json.Marshal(schema) // maps of strings and slices always marshal
	return b
}

func argSchema(a ArgRange) map[string]any {
	switch a.Type {
	case ArgInt:
		return map[string]any{"type": "integer"}
	case ArgFloat:
		return map[string]any{"type": "number"}
	case ArgBool:
		return map[string]any{"type": "boolean"}
	case ArgInts:
		return map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}
	}
	return map[string]any{"type": "string"}
}
