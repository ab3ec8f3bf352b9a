package llm

import (
	"hash/fnv"
	"strconv"
)

// decisionKey mixes the identity of a decision into seeded draws, so the
// same seed gives the same draw for the same decision no matter in which
// order concurrent workers call. purpose separates independent streams.
func decisionKey(d Decision, purpose string) uint64 {
	h := fnv.New64a()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(purpose)
	w(strconv.Itoa(d.Trial))
	w(d.Operation)
	w(string(d.Category))
	for _, o := range d.Options {
		w(o.ID)
		w(o.Path)
	}
	return h.Sum64()
}
