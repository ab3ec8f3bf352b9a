package tree

import "strings"

// InBody reports whether path lies inside a stage or a block body: below
// the root, and not inside the stem or the head. Compose spans lie only in
// such seqs, and copies of a composite block are placed only there.
func InBody(path string) bool {
	rest := strings.TrimPrefix(path, "/")
	if rest == "" {
		return false
	}
	top, _, _ := strings.Cut(rest, "/")
	// The top-level children that are not stages: the stem before the
	// first stage, the head (and the tail layers before it) after the
	// last. A block made of the head's flatten and linear, placed in a
	// stage, is not a building block but a broken classifier.
	switch top {
	case "stem", "head", "last", "lastact", "classifier", "gap":
		return false
	}
	return true
}
