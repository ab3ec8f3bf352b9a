package tree

import (
	"strconv"
	"strings"
)

// valueKind tags the JSON type a Value holds.
type valueKind uint8

const (
	kindNone valueKind = iota // absent: the zero Value
	kindNum
	kindBool
	kindStr
	kindInts
)

// Value is one typed argument value: a number, a bool, a string or a list of
// integers. The zero Value means "absent". Values are immutable; the list
// returned by AsInts must not be modified.
//
// Numbers keep one float64; whether a number is an int is decided by the
// argument's spec (3 and 3.0 are the same value), so JSON round trips and
// hashing never depend on how a number was written.
type Value struct {
	k valueKind
	n float64 // numbers; bools as 0/1
	s string  // strings; int lists comma-joined, to keep Value small (options hold many)
}

// Int returns an integer Value.
func Int(i int) Value { return Value{k: kindNum, n: float64(i)} }

// Float returns a number Value.
func Float(f float64) Value { return Value{k: kindNum, n: f} }

// Bool returns a bool Value.
func Bool(b bool) Value {
	if b {
		return Value{k: kindBool, n: 1}
	}
	return Value{k: kindBool}
}

// String returns a string (or enum) Value.
func String(s string) Value { return Value{k: kindStr, s: s} }

// Ints returns an integer-list Value; it copies xs.
func Ints(xs ...int) Value {
	b := make([]byte, 0, 4*len(xs))
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return Value{k: kindInts, s: string(b)}
}

// IsZero reports whether v is absent.
func (v Value) IsZero() bool { return v.k == kindNone }

// AsInt returns the value as an int when it is an integral number.
func (v Value) AsInt() (int, bool) {
	if v.k != kindNum || v.n != float64(int64(v.n)) {
		return 0, false
	}
	return int(v.n), true
}

// AsFloat returns the value when it is a number.
func (v Value) AsFloat() (float64, bool) { return v.n, v.k == kindNum }

// AsBool returns the value when it is a bool.
func (v Value) AsBool() (bool, bool) { return v.n != 0, v.k == kindBool }

// AsString returns the value when it is a string.
func (v Value) AsString() (string, bool) { return v.s, v.k == kindStr }

// AsInts returns the value when it is an integer list (a fresh slice).
func (v Value) AsInts() ([]int, bool) {
	if v.k != kindInts {
		return nil, false
	}
	if v.s == "" {
		return []int{}, true
	}
	parts := strings.Split(v.s, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i], _ = strconv.Atoi(p)
	}
	return out, true
}

// Equal reports whether two values are the same.
func (v Value) Equal(w Value) bool {
	return v == w
}

// typeName names the JSON type held, for error messages.
func (v Value) typeName() string {
	switch v.k {
	case kindNum:
		if _, ok := v.AsInt(); ok {
			return "int"
		}
		return "float"
	case kindBool:
		return "bool"
	case kindStr:
		return "string"
	case kindInts:
		return "int list"
	}
	return "nothing"
}

// appendJSON writes v as a JSON literal.
func (v Value) appendJSON(b []byte) []byte {
	switch v.k {
	case kindNum:
		return appendNum(b, v.n)
	case kindBool:
		return strconv.AppendBool(b, v.n != 0)
	case kindStr:
		return appendJSONString(b, v.s)
	case kindInts:
		b = append(b, '[')
		b = append(b, v.s...)
		return append(b, ']')
	}
	return append(b, "null"...)
}

// String renders v as JSON, for messages.
func (v Value) String() string { return string(v.appendJSON(nil)) }

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return v.appendJSON(nil), nil }

// appendPy writes v as a Python literal.
func (v Value) appendPy(b []byte) []byte {
	switch v.k {
	case kindNum:
		return appendNum(b, v.n)
	case kindBool:
		if v.n != 0 {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case kindStr:
		return appendJSONString(b, v.s) // JSON string escapes are valid Python
	case kindInts:
		b = append(b, '[')
		b = append(b, v.s...)
		return append(b, ']')
	}
	return append(b, "None"...)
}

func appendNum(b []byte, f float64) []byte {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendJSONString quotes s for JSON (and Python): only the escapes both accept.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// valueFromAny converts a decoded JSON literal (from encoding/json with
// UseNumber, or a ModuleSpec's FixedArgs) into a Value.
func valueFromAny(x any) (Value, bool) {
	switch t := x.(type) {
	case float64:
		return Float(t), true
	case int:
		return Int(t), true
	case bool:
		return Bool(t), true
	case string:
		return String(t), true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := t.Float64()
		return Float(f), err == nil
	case []int:
		return Ints(t...), true
	case []any:
		l := make([]int, len(t))
		for i, e := range t {
			ev, ok := valueFromAny(e)
			if !ok {
				return Value{}, false
			}
			n, ok := ev.AsInt()
			if !ok {
				return Value{}, false
			}
			l[i] = n
		}
		return Ints(l...), true
	}
	return Value{}, false
}

// ParseValue reads one argument value from a JSON literal: a number, bool,
// string or list of integers.
func ParseValue(data []byte) (Value, error) { return parseValue(data) }

// UnmarshalJSON implements json.Unmarshaler with ParseValue.
func (v *Value) UnmarshalJSON(data []byte) error {
	p, err := parseValue(data)
	if err != nil {
		return err
	}
	*v = p
	return nil
}
