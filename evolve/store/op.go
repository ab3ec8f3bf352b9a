package store

// The operations a candidate's Op records: the planner's six, and the
// two that mark candidates no planner proposed.
const (
	OpChangeArg = "change-arg"
	OpSwap      = "swap"
	OpInsert    = "insert"
	OpDelete    = "delete"
	OpCompose   = "compose"
	OpRepeat    = "repeat" // repeat the last successful operation
	// OpCodegen marks candidates of the codegen baseline (the LLM rewrote the source).
	OpCodegen = "codegen"
	// OpSeed marks the seed architectures.
	OpSeed = "seed"
)
