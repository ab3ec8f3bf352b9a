package child

import (
	"strings"
	"testing"
)

func TestEnv(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("GITHUB_TOKEN", "t")
	t.Setenv("DB_PASSWORD", "p")
	t.Setenv("RANDOM_SETTING", "r")
	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	t.Setenv("OMP_NUM_THREADS", "2")
	t.Setenv("HOME", "/home/x")
	env := Env("CUDA_VISIBLE_DEVICES=1", "MY_API_TOKEN=leak", "OMP_NUM_THREADS=4", "malformed")
	get := func(name string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v, true
			}
		}
		return "", false
	}
	for _, name := range []string{"OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "RANDOM_SETTING", "MY_API_TOKEN", "malformed"} {
		if v, ok := get(name); ok {
			t.Errorf("%s=%s passed to the child", name, v)
		}
	}
	want := map[string]string{"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "4", "HOME": "/home/x",
		"CUDA_VISIBLE_DEVICES": "1", "PYTHONUNBUFFERED": "1"}
	for name, w := range want {
		if v, ok := get(name); !ok || v != w {
			t.Errorf("%s = %q (present %v), want %q", name, v, ok, w)
		}
	}
	names := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if names[k] {
			t.Errorf("%s appears twice", k)
		}
		names[k] = true
	}
}

func TestPasses(t *testing.T) {
	for name, want := range map[string]bool{"PATH": true, "OMP_NUM_THREADS": true, "OPENBLAS_CORETYPE": true,
		"OPENAI_API_KEY": false, "ARBOR_LLM_API_KEY": false, "OMP_AUTH_TOKEN": false, "RANDOM_SETTING": false} {
		if got := Passes(name); got != want {
			t.Errorf("Passes(%s) = %v, want %v", name, got, want)
		}
	}
}
