package mine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGitCommit(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name  string
		files map[string]string // relative to the repository root
		want  string
	}{
		{"loose ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": sha + "\n"}, sha},
		{"packed ref", map[string]string{".git/HEAD": "ref: refs/heads/dev\n", ".git/packed-refs": "# pack-refs\n" + sha + " refs/heads/dev\n"}, sha},
		{"detached", map[string]string{".git/HEAD": sha + "\n"}, sha},
		{"gitdir file", map[string]string{".git": "gitdir: real.git\n", "real.git/HEAD": sha}, sha},
		{"not a repository", map[string]string{"README": "x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, body := range tc.files {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sub := filepath.Join(root, "pkg", "models")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			got := gitCommit(sub)
			if tc.want == "" {
				// The temp dir may itself sit inside some repository; only
				// require that this tree's own files did not produce a hash.
				if got == sha {
					t.Errorf("gitCommit = %q, want no commit", got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("gitCommit = %q, want %q", got, tc.want)
			}
		})
	}
}
