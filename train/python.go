package train

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DetectPython returns the absolute path of the first interpreter that can
// import torch: preferred (the config's train.python) if set, then python3
// on PATH, then /usr/bin/python3.
func DetectPython(ctx context.Context, preferred string) (string, error) {
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
				return "", fmt.Errorf("train: detect python: %w", ctx.Err())
			}
			tried = append(tried, fmt.Sprintf("%s (%v)", path, err))
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("train: no python interpreter can import torch; tried %s; install PyTorch or set train.python",
		strings.Join(tried, ", "))
}

func canImportTorch(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", "import torch")
	cmd.Env = ScrubbedEnv()
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
