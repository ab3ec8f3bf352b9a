package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Limits on what an answer may carry. Strings end up as constructor
// arguments in rendered PyTorch source, so free-form ones are restricted to
// identifier-like tokens: no quotes, parentheses, spaces or newlines.
const (
	maxIntsLen      = 16
	maxRationale    = 280
	maxStringArgLen = 64
)

func safeStringArg(s string) bool {
	if len(s) > maxStringArgLen {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ValidationError lists everything wrong with an answer. Its message is fed
// back to the model verbatim when asking for a repair.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid answer: " + strings.Join(e.Problems, "; ")
}

// ParseAnswer extracts the JSON object from a model's answer and validates it
// against the offered options. The returned Choice holds only values that
// were checked: an offered option ID, the option's own argument names with
// typed, in-range values (defaults filled in), and a single-line rationale.
func ParseAnswer(text string, offered []Option) (Choice, error) {
	obj, err := extractObject(text)
	if err != nil {
		return Choice{}, &ValidationError{Problems: []string{err.Error()}}
	}
	return validateObject(obj, offered)
}

func validateObject(obj map[string]any, offered []Option) (Choice, error) {
	var problems []string
	addf := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "option", "option_id", "args", "rationale":
		case "confidence":
			// Harmless: it cannot change what is applied.
		default:
			addf("unexpected key %q; only option, args and rationale are allowed", k)
		}
	}

	id, ok := optionID(obj)
	var opt *Option
	switch {
	case !ok:
		addf(`"option" must be a string naming one offered option ID`)
	default:
		for i := range offered {
			if offered[i].ID == id {
				opt = &offered[i]
				break
			}
		}
		if opt == nil {
			addf("option %q was not offered; choose one of %s", clip(id, 40), offeredIDs(offered))
		}
	}

	var args map[string]any
	if raw, present := obj["args"]; present && raw != nil {
		m, isMap := raw.(map[string]any)
		if !isMap {
			addf(`"args" must be a JSON object`)
		} else {
			args = m
		}
	}

	out := Choice{OptionID: id, Args: map[string]any{}}
	if opt != nil {
		known := make(map[string]bool, len(opt.Args))
		for _, a := range opt.Args {
			known[a.Name] = true
			v, present := args[a.Name]
			if !present || v == nil {
				if a.Default == nil {
					addf("args.%s: missing; give %s", a.Name, describeRange(a))
					continue
				}
				v = a.Default
			}
			cv, err := coerceArg(a, v)
			if err != nil {
				addf("args.%s: %v", a.Name, err)
				continue
			}
			out.Args[a.Name] = cv
		}
		names := make([]string, 0, len(args))
		for k := range args {
			if !known[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			addf("args.%s: option %s has no such argument", clip(k, 40), opt.ID)
		}
	}

	if r, present := obj["rationale"]; present && r != nil {
		s, isString := r.(string)
		if !isString {
			addf(`"rationale" must be a string`)
		}
		out.Rationale = oneLine(s, maxRationale)
	}
	if len(problems) > 0 {
		return Choice{}, &ValidationError{Problems: problems}
	}
	return out, nil
}

func optionID(obj map[string]any) (string, bool) {
	a, okA := obj["option"].(string)
	b, okB := obj["option_id"].(string)
	switch {
	case okA && okB && a != b:
		return "", false
	case okA:
		return a, true
	case okB:
		return b, true
	}
	return "", false
}

func offeredIDs(offered []Option) string {
	const show = 20
	ids := make([]string, 0, min(len(offered), show))
	for i, o := range offered {
		if i == show {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, o.ID)
	}
	return strings.Join(ids, ", ")
}

func describeRange(a ArgRange) string {
	switch a.Type {
	case ArgInt, ArgFloat:
		if a.Bounded() {
			return fmt.Sprintf("an %s in [%v, %v]", a.Type, a.Min, a.Max)
		}
		return "an " + a.Type
	case ArgInts:
		if a.Bounded() {
			return fmt.Sprintf("a list of ints in [%v, %v]", a.Min, a.Max)
		}
		return "a list of ints"
	case ArgEnum:
		return "one of " + strings.Join(a.Choices, ", ")
	case ArgString:
		if len(a.Choices) > 0 {
			return "one of " + strings.Join(a.Choices, ", ")
		}
		return "a short identifier-like string"
	}
	return "a " + a.Type
}

// coerceArg checks one value against its range and returns it in its
// canonical Go type: int, float64, bool, string or []int.
func coerceArg(a ArgRange, v any) (any, error) {
	switch a.Type {
	case ArgInt:
		n, err := asInt(v)
		if err != nil {
			return nil, err
		}
		if a.Bounded() && (float64(n) < a.Min || float64(n) > a.Max) {
			return nil, fmt.Errorf("%d is out of range [%v, %v]", n, a.Min, a.Max)
		}
		return n, nil
	case ArgFloat:
		f, err := asFloat(v)
		if err != nil {
			return nil, err
		}
		if a.Bounded() && (f < a.Min || f > a.Max) {
			return nil, fmt.Errorf("%v is out of range [%v, %v]", f, a.Min, a.Max)
		}
		return f, nil
	case ArgBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %s", kindOf(v))
		}
		return b, nil
	case ArgEnum, ArgString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", kindOf(v))
		}
		if len(a.Choices) > 0 || a.Type == ArgEnum {
			for _, c := range a.Choices {
				if s == c {
					return s, nil
				}
			}
			return nil, fmt.Errorf("%q is not one of %s", clip(s, 40), strings.Join(a.Choices, ", "))
		}
		if !safeStringArg(s) {
			return nil, fmt.Errorf("%q is not a short identifier-like string (letters, digits, _ . - only, at most %d)", clip(s, 40), maxStringArgLen)
		}
		return s, nil
	case ArgInts:
		var items []any
		switch xs := v.(type) {
		case []any:
			items = xs
		case []int:
			for _, x := range xs {
				items = append(items, x)
			}
		default:
			return nil, fmt.Errorf("want a list of ints, got %s", kindOf(v))
		}
		if len(items) == 0 || len(items) > maxIntsLen {
			return nil, fmt.Errorf("want 1 to %d ints, got %d", maxIntsLen, len(items))
		}
		out := make([]int, len(items))
		for i, x := range items {
			n, err := asInt(x)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			if a.Bounded() && (float64(n) < a.Min || float64(n) > a.Max) {
				return nil, fmt.Errorf("item %d: %d is out of range [%v, %v]", i, n, a.Min, a.Max)
			}
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown argument type %q", a.Type)
}

// intLimit keeps integers exactly representable as float64 and far from
// overflow, so range checks in float64 are exact.
const intLimit = 1 << 52

func asInt(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if n > intLimit || n < -intLimit {
				return 0, fmt.Errorf("%d is too large", n)
			}
			return int(n), nil
		}
		g, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", clip(string(x), 40))
		}
		f = g
	default:
		return 0, fmt.Errorf("want an integer, got %s", kindOf(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, fmt.Errorf("want an integer, got %v", f)
	}
	if math.Abs(f) > intLimit {
		return 0, fmt.Errorf("%v is too large", f)
	}
	return int(f), nil
}

func asFloat(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		g, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", clip(string(x), 40))
		}
		f = g
	default:
		return 0, fmt.Errorf("want a number, got %s", kindOf(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a finite number, got %v", f)
	}
	return f, nil
}

func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return fmt.Sprintf("the string %q", clip(x, 40))
	case json.Number, float64, int:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// clip shortens s for error messages so a hostile answer cannot flood the
// repair prompt or the logs.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// oneLine collapses whitespace and control characters and caps the length.
func oneLine(s string, n int) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	return clip(strings.Join(f, " "), n)
}
