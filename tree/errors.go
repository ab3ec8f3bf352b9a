package tree

import "fmt"

// ParseError is a malformed-JSON error with its position (1-based).
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("tree JSON line %d column %d: %s", e.Line, e.Col, e.Msg)
}

// NodeError is a structural problem at a node: unknown kind or op, wrong
// number of children, duplicate or bad names, a missing catalog module, a
// cell cycle.
type NodeError struct {
	Path   string
	Reason string
}

func (e *NodeError) Error() string { return fmt.Sprintf("node %s: %s", e.Path, e.Reason) }

// ArgError is a bad argument at a node: unknown, wrong type, out of range,
// missing.
type ArgError struct {
	Path   string
	Arg    string
	Reason string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("node %s: argument %q: %s", e.Path, e.Arg, e.Reason)
}

// ShapeError is a shape mismatch at a node: Want is what the node (or the
// tree's contract) needs, Got what it received or produced.
type ShapeError struct {
	Path   string
	Want   Shape
	Got    Shape
	Reason string
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("node %s: shape mismatch: want %s, got %s: %s", e.Path, e.Want, e.Got, e.Reason)
}

// TransformError says why a transformation could not be applied; Err is the
// underlying typed error when there is one (e.g. a *ShapeError of the
// resulting tree).
type TransformError struct {
	Op     OpKind
	Path   string
	Reason string
	Err    error
}

func (e *TransformError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s at %s: %s: %v", e.Op, e.Path, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s at %s: %s", e.Op, e.Path, e.Reason)
}

func (e *TransformError) Unwrap() error { return e.Err }
