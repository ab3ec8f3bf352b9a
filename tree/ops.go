package tree

// OpKind names a transformation.
type OpKind string

// The transformations.
const (
	OpChangeArg    OpKind = "change_arg"
	OpSwap         OpKind = "swap"
	OpInsert       OpKind = "insert"
	OpDelete       OpKind = "delete"
	OpCompose      OpKind = "compose"
	OpDuplicate    OpKind = "duplicate"
	OpWrapResidual OpKind = "wrap_residual"
)

// OpKinds lists the transformations.
func OpKinds() []OpKind {
	return []OpKind{OpChangeArg, OpSwap, OpInsert, OpDelete, OpCompose, OpDuplicate, OpWrapResidual}
}
