package child

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FindPython returns the absolute path of the first interpreter that can
// import torch: preferred (a configured train.python or mine.python) if
// set, then python3 on PATH, then /usr/bin/python3. The python3 first on
// PATH is often a build without torch.
func FindPython(ctx context.Context, preferred string) (string, error) {
	var tried []string
	seen := map[string]bool{}
	for _, name := range []string{preferred, "python3", "/usr/bin/python3"} {
		if name == "" {
			continue
		}
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (not found)", name))
			continue
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		if err := canImportTorch(ctx, path); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("find python: %w", ctx.Err())
			}
			tried = append(tried, fmt.Sprintf("%s (%v)", path, err))
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("no python interpreter can import torch; tried %s; install PyTorch (Debian: python3-torch) or set train.python",
		strings.Join(tried, ", "))
}

func canImportTorch(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", "import torch")
	cmd.Env = Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			return err
		}
		return errors.New(msg)
	}
	return nil
}
