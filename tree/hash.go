package tree

import (
	"crypto/sha256"
	"encoding/hex"
)

// Hash returns the structural SHA-256 (hex) of t: the canonical JSON with
// names dropped and seq-in-seq nesting flattened, so it is invariant to key
// order, whitespace, arguments written at their default, node names and
// Compose groupings (which compute the same function), and changes when any
// argument, kind, op, module, the input shape or the class count changes.
func Hash(t *Tree) string {
	if t == nil || t.Root == nil {
		return ""
	}
	var buf [8192]byte
	sum := sha256.Sum256(appendTree(buf[:0], t, false))
	return hex.EncodeToString(sum[:])
}
