package train

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// probe submits one tiny job that writes a random token into the run
// directory and checks the interpreter. If the login node cannot read the
// token afterwards, the run directory is not shared with the nodes and no
// candidate could ever report a result, so we stop before the search.
func (s *Slurm) probe(ctx context.Context) error {
	dir := filepath.Join(s.cfg.RunDir, "probe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train.slurm.run_dir: %w", err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("probe token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	tokenFile := filepath.Join(dir, token+".token")
	pyFile := filepath.Join(dir, token+".python")
	script := fmt.Sprintf(`#!/bin/sh
# arbor's shared-filesystem probe: the login node must see this token.
%s -c 'import sys, torch; print(sys.version.split()[0], torch.__version__)' > %s 2>&1
echo %s > %s
`, shellQuote(s.cfg.Python), shellQuote(pyFile), token, shellQuote(tokenFile))
	scriptPath := filepath.Join(dir, "probe.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o755); err != nil {
		return fmt.Errorf("train.slurm.run_dir: %w", err)
	}
	args := []string{"--parsable", "--job-name=arbor-" + slurmSafe(s.opts.RunName) + "-probe",
		"--chdir=" + dir, "--output=" + filepath.Join(dir, "probe-%j.log"), "--no-requeue",
		"--export=" + s.exportList()}
	args = append(args, s.cfg.sbatchArgs(false)...)
	args = append(args, scriptPath)
	start := time.Now()
	out, err := s.command(ctx, "sbatch", args...)
	if err != nil {
		return fmt.Errorf("train.slurm: probe job: %w", err)
	}
	id, err := parseSbatchID(out)
	if err != nil {
		return fmt.Errorf("train.slurm: probe job: %w", err)
	}
	fin, cancelled, err := s.wait(ctx, id, dir, "probe", nil)
	if err != nil {
		return fmt.Errorf("train.slurm: probe job %s: %w", id, err)
	}
	if cancelled {
		return fmt.Errorf("train.slurm: probe job %s cancelled: %w", id, ctx.Err())
	}
	// NFS caches directory entries for a few seconds: look again before
	// declaring the directory unshared.
	var got []byte
	for i := 0; i < 20; i++ {
		if got, err = os.ReadFile(tokenFile); err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if strings.TrimSpace(string(got)) != token {
		return fmt.Errorf("train.slurm.run_dir: %s is not on a filesystem shared with the compute nodes: "+
			"probe job %s ended %s but its token file %s is not visible here (log: %s); "+
			"put run_dir on a shared filesystem such as your cluster home or scratch",
			s.cfg.RunDir, id, fin.state, tokenFile, logTail(filepath.Join(dir, "probe-"+id+".log")))
	}
	py, _ := os.ReadFile(pyFile)
	if fields := strings.Fields(string(py)); len(fields) != 2 || strings.Contains(string(py), "Error") {
		return fmt.Errorf("train.slurm.python: %q cannot import torch on the compute nodes (probe job %s): %s",
			s.cfg.Python, id, strings.TrimSpace(string(py)))
	}
	s.log.Info("probe job ok: run_dir is shared", "job", id, "python", strings.TrimSpace(string(py)),
		"seconds", time.Since(start).Seconds())
	os.Remove(tokenFile)
	os.Remove(pyFile)
	return nil
}
