package mine

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const goodModule = "import torch.nn as nn\n\n\nclass Good(nn.Module):\n    def forward(self, x):\n        return x\n"

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Each case builds a root in a temp dir; mining must not fail, must mine
// what it can, and must warn about what it skipped.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) Config
		modules int    // modules expected
		warning string // substring of a warning, "" for none expected
		asUser  bool   // mine as an unprivileged user: permissions do not bind root
	}{
		{
			name: "50 MB file is skipped by size",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "good.py"), goodModule)
				f, err := os.Create(filepath.Join(dir, "huge.py"))
				if err != nil {
					t.Fatal(err)
				}
				line := []byte(strings.Repeat("x = 1  # padding\n", 64))
				for n := 0; n < 50<<20; n += len(line) {
					if _, err := f.Write(line); err != nil {
						t.Fatal(err)
					}
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				return DefaultConfig()
			},
			modules: 1, warning: "exceeds mine.max_file_bytes",
		},
		{
			name: "size limit is configurable",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "good.py"), goodModule)
				writeFile(t, filepath.Join(dir, "other.py"), strings.ReplaceAll(goodModule, "Good", "Other")+strings.Repeat("# pad\n", 100))
				cfg := DefaultConfig()
				cfg.MaxFileBytes = int64(len(goodModule))
				return cfg
			},
			modules: 1, warning: "exceeds mine.max_file_bytes=",
		},
		{
			name: "directory symlink loop",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "pkg", "good.py"), goodModule)
				if err := os.Symlink("..", filepath.Join(dir, "pkg", "loop")); err != nil {
					t.Fatal(err)
				}
				return DefaultConfig()
			},
			modules: 1, warning: "symlink loop",
		},
		{
			name: "self-referencing file symlink",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "good.py"), goodModule)
				if err := os.Symlink("self.py", filepath.Join(dir, "self.py")); err != nil {
					t.Fatal(err)
				}
				return DefaultConfig()
			},
			modules: 1, warning: "looping symlink",
		},
		{
			name: "unreadable file",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "good.py"), goodModule)
				p := filepath.Join(dir, "secret.py")
				writeFile(t, p, strings.ReplaceAll(goodModule, "Good", "Secret"))
				if err := os.Chmod(p, 0); err != nil {
					t.Fatal(err)
				}
				return DefaultConfig()
			},
			modules: 1, warning: "permission denied", asUser: true,
		},
		{
			name:    "empty directory",
			setup:   func(t *testing.T, dir string) Config { return DefaultConfig() },
			modules: 0,
		},
		{
			name: "non-UTF-8 bytes and NUL",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "bin.py"), "\xff\xfe\x00\x00class \xe9(nn.Module):\n\x00\x01\n"+goodModule)
				return DefaultConfig()
			},
			modules: 1,
		},
		{
			name: "exclude glob",
			setup: func(t *testing.T, dir string) Config {
				writeFile(t, filepath.Join(dir, "good.py"), goodModule)
				writeFile(t, filepath.Join(dir, "tests", "test_x.py"), strings.ReplaceAll(goodModule, "Good", "InTests"))
				cfg := DefaultConfig()
				cfg.Exclude = []string{"tests"}
				return cfg
			},
			modules: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tc.setup(t, dir)
			var modules int
			var warnings []string
			if tc.asUser && os.Geteuid() == 0 {
				modules, warnings = mineAsNobody(t, dir, cfg)
			} else {
				cat, _, err := Mine(context.Background(), []string{dir}, cfg, Options{})
				if err != nil {
					t.Fatalf("Mine: %v", err)
				}
				modules, warnings = len(cat.Modules), cat.Warnings
			}
			if modules != tc.modules {
				t.Errorf("modules = %d, want %d", modules, tc.modules)
			}
			found := tc.warning == ""
			for _, w := range warnings {
				if tc.warning != "" && strings.Contains(w, tc.warning) {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning containing %q in %q", tc.warning, warnings)
			}
		})
	}
}

// asNobodyEnv carries the job of a copy of this test binary that mines as
// user nobody (TestMain runs it): JSON of nobodyJob.
const asNobodyEnv = "ARBOR_MINE_TEST_AS_NOBODY"

type nobodyJob struct {
	Dir    string
	Config Config
}

type nobodyResult struct {
	Modules  int
	Warnings []string
	Err      string
}

// TestMain runs a nobodyJob when asked to (see mineAsNobody), else the tests.
func TestMain(m *testing.M) {
	if job := os.Getenv(asNobodyEnv); job != "" {
		var j nobodyJob
		var res nobodyResult
		if err := json.Unmarshal([]byte(job), &j); err != nil {
			res.Err = err.Error()
		} else if cat, _, err := Mine(context.Background(), []string{j.Dir}, j.Config, Options{}); err != nil {
			res.Err = err.Error()
		} else {
			res.Modules, res.Warnings = len(cat.Modules), cat.Warnings
		}
		_ = json.NewEncoder(os.Stdout).Encode(res)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mineAsNobody mines dir in a copy of this test binary that runs as user
// nobody (uid 65534): CI runs the tests as root, whom file permissions do
// not bind, and a test of an unreadable file must still see one.
func mineAsNobody(t *testing.T, dir string, cfg Config) (modules int, warnings []string) {
	t.Helper()
	// nobody must reach dir (t.TempDir's top directory is 0700) and run
	// the binary (go test builds it in a private directory).
	for d := dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "mine.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755); err != nil {
		t.Fatal(err)
	}
	job, err := json.Marshal(nobodyJob{Dir: dir, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), asNobodyEnv+"="+string(job))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mining as nobody: %v\n%s", err, stderr.String())
	}
	var res nobodyResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("mining as nobody printed %q: %v", out, err)
	}
	if res.Err != "" {
		t.Fatalf("Mine as nobody: %s", res.Err)
	}
	t.Logf("as nobody: %d modules, warnings %q", res.Modules, res.Warnings)
	return res.Modules, res.Warnings
}

func TestNonexistentRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	_, _, err := Mine(context.Background(), []string{missing}, DefaultConfig(), Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name the path", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		key  string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"jobs", func(c *Config) { c.Jobs = 0 }, "mine.jobs"},
		{"max bytes", func(c *Config) { c.MaxFileBytes = 0 }, "mine.max_file_bytes"},
		{"glob", func(c *Config) { c.Exclude = []string{"[a"} }, "mine.include/exclude"},
		{"timeout", func(c *Config) { c.ProbeTimeout = 0 }, "mine.probe_timeout"},
		{"widths", func(c *Config) { c.ProbeWidths = [3]int{8, 8, 16} }, "mine.probe_widths"},
		{"ref hw", func(c *Config) { c.RefHW = 2 }, "mine.ref_hw"},
		{"memory cap", func(c *Config) { c.ProbeMemoryMB = 100 }, "mine.probe_memory_mb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %v does not name %s", err, tc.key)
			}
		})
	}
}

func TestLoadCatalogRejectsBadFiles(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", "{", "not valid JSON"},
		{"wrong version", `{"version": 99, "modules": []}`, "version 99"},
		{"module without id", `{"version": 1, "modules": [{"name": "X"}]}`, "modules[0] lacks id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "catalog.json")
			writeFile(t, p, tc.body)
			_, err := LoadCatalog(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want one naming %s and %q", err, p, tc.want)
			}
		})
	}
}

// TestOutsideSymlinksSkipped: symlinks (to a file or a folder) that lead
// out of the mined root are skipped, warned about and counted; one that
// stays inside is followed. A canary module outside never reaches the
// catalog.
func TestOutsideSymlinksSkipped(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "canary.py"), strings.ReplaceAll(goodModule, "Good", "Canary"))
	writeFile(t, filepath.Join(outside, "pkg", "canary2.py"), strings.ReplaceAll(goodModule, "Good", "CanaryTwo"))
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "good.py"), goodModule)
	writeFile(t, filepath.Join(root, "sub", "inner.py"), strings.ReplaceAll(goodModule, "Good", "Inner"))
	for target, link := range map[string]string{
		filepath.Join(outside, "canary.py"): "leak.py",
		filepath.Join(outside, "pkg"):       "leakdir",
		"sub/inner.py":                      "alias.py",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	cat, st, err := Mine(context.Background(), []string{root}, DefaultConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.OutsideLinks != 2 {
		t.Errorf("OutsideLinks = %d, want 2", st.OutsideLinks)
	}
	var names []string
	for _, m := range cat.Modules {
		names = append(names, m.Name)
		if strings.HasPrefix(m.Name, "Canary") {
			t.Errorf("module %s from outside the root was mined", m.Name)
		}
	}
	if !strings.Contains(strings.Join(names, ","), "Inner") {
		t.Errorf("modules %v: the symlink inside the root was not followed", names)
	}
	if w := strings.Join(cat.Warnings, "\n"); strings.Count(w, "outside the mined root") != 2 {
		t.Errorf("warnings %q: want two naming symlinks outside the mined root", w)
	}
}
