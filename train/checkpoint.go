package train

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/arbor-nas/arbor/train/atomicfile"
)

// Names of the weight files in a local job directory: the state_dict the
// job starts from (Job.Weights, copied in) and the one it writes
// (Job.Checkpoint, moved out). The candidate's sandbox needs nothing
// outside its directory.
const (
	weightsInFile  = "weights-in.pt"
	checkpointFile = "weights.pt"
	inheritFile    = "parent.pt"
)

// writeLocalJob writes the job directory of a local job: Job.Weights is
// copied in and both weight paths are made names inside the directory.
func writeLocalJob(dir string, job Job) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: job dir %s: %w", dir, err)
	}
	if job.Weights != "" {
		if err := copyFile(job.Weights, filepath.Join(dir, weightsInFile)); err != nil {
			return fmt.Errorf("train: job %q: weights: %w", job.ID, err)
		}
		job.Weights = weightsInFile
	}
	if job.Checkpoint != "" {
		job.Checkpoint = checkpointFile
	}
	if job.Inherit != "" {
		// The parent's weights may have been dropped by the retention rule
		// since: then the child starts fresh.
		if err := copyFile(job.Inherit, filepath.Join(dir, inheritFile)); err != nil {
			job.Inherit = ""
		} else {
			job.Inherit = inheritFile
		}
	}
	return WriteJobDir(dir, job)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// moveCheckpoint moves the weights a job wrote (already synced by the
// trainer) to dst: a rename when both are on one file system, else an
// atomic copy, so dst is never a fragment.
func moveCheckpoint(src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("the trainer wrote no checkpoint: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("checkpoint folder: %w", err)
	}
	if err := os.Rename(src, dst); err == nil {
		if d, err := os.Open(filepath.Dir(dst)); err == nil {
			d.Sync()
			d.Close()
		}
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dst, err)
	}
	return nil
}
