package mine

import (
	"context"
	"strings"

	"github.com/arbor-nas/arbor/train/child"
)

// FindPython returns the interpreter for the probe: the configured one, or
// the first of python3 (PATH) and /usr/bin/python3 that can import torch
// (train/child's discovery, shared with training).
func FindPython(ctx context.Context, configured string) (string, error) {
	return child.FindPython(ctx, configured)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
