package run

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig: any file either loads into a configuration that passes
// Validate or is refused with a usage error; nothing panics.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"synthetic.yaml", "fashion-mnist.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "examples", name)); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("evolve:\n  budget: 3\n")
	f.Add("llm:\n  models:\n    - name: a\n      weight: 1\n")
	f.Add("evolve: [1, 2]\n")
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, nil)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("bad config gave a non-usage error: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded config does not validate: %v", err)
		}
	})
}
