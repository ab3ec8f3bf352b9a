package mine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FindPython returns the interpreter for the probe: the configured one, or
// the first of python3 (PATH) and /usr/bin/python3 that can import torch.
// The python3 first on PATH is often a pyenv build without torch.
func FindPython(ctx context.Context, configured string) (string, error) {
	cands := []string{configured}
	if configured == "" {
		cands = []string{"python3", "/usr/bin/python3"}
	}
	var tried []string
	for _, c := range cands {
		p, err := exec.LookPath(c)
		if err != nil {
			tried = append(tried, c+": not found")
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		cmd := exec.CommandContext(cctx, p, "-c", "import torch")
		cmd.Env = scrubbedEnv(os.Environ())
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("%s: cannot import torch (%s)", p, lastLine(string(out))))
	}
	return "", fmt.Errorf("no Python interpreter with torch (set mine.python): %s", strings.Join(tried, "; "))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// scrubbedEnv keeps only what a Python child needs; mined code is untrusted
// and must not see API keys or tokens.
func scrubbedEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		up := strings.ToUpper(k)
		if strings.Contains(up, "KEY") || strings.Contains(up, "TOKEN") || strings.Contains(up, "SECRET") || strings.Contains(up, "PASSWORD") {
			continue
		}
		switch k {
		case "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES":
			out = append(out, kv)
		}
	}
	return out
}
