package evolve

import (
	"strings"
	"testing"
)

// FuzzNormalizeCode: normalization is idempotent, and re-spacing a source
// (extra blanks, tabs, blank lines) never changes its code hash.
func FuzzNormalizeCode(f *testing.F) {
	f.Add("class Candidate(nn.Module):\n    def forward(self, x):\n        return x\n")
	f.Add("  \t\n")
	f.Add("a\u00a0b\r\nc")
	f.Fuzz(func(t *testing.T, src string) {
		n := normalizeCode(src)
		if normalizeCode(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", src, n, normalizeCode(n))
		}
		spaced := strings.ReplaceAll(src, " ", " \t ")
		spaced = strings.ReplaceAll(spaced, "\n", "\n\n")
		if codeHash(spaced) != codeHash(src) {
			t.Fatalf("re-spacing changed the hash: %q vs %q", src, spaced)
		}
	})
}
