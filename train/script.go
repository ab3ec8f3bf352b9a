package train

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// TrainerScript is the embedded PyTorch trainer (trainer.py). It is run as
// `python3 trainer.py --job job.json --out result.json` in a directory made by
// WriteJobDir, as `--serve` by the local pool and as `--gate` by the dry-run
// gate. Other backends (Slurm) copy it to compute nodes as it is.
//
//go:embed trainer.py
var TrainerScript []byte

// Names of the files in a job directory.
const (
	JobFile       = "job.json"
	CandidateFile = "candidate.py"
	ScriptFile    = "trainer.py"
	ResultFile    = "result.json"
)

// WriteJobDir writes job.json, candidate.py and trainer.py into dir, creating
// it if needed, so that `python3 trainer.py --job job.json --out result.json`
// run there trains the job.
func WriteJobDir(dir string, job Job) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: job dir %s: %w", dir, err)
	}
	data, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return fmt.Errorf("train: encode job %q: %w", job.ID, err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{JobFile, append(data, '\n')},
		{CandidateFile, []byte(job.Source)},
		{ScriptFile, TrainerScript},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("train: write %s for job %q: %w", f.name, job.ID, err)
		}
	}
	return nil
}

// ReadResult reads the result.json a trainer wrote into dir. A missing file
// means the trainer crashed before it could report (os.ErrNotExist).
func ReadResult(dir string) (Result, error) {
	path := filepath.Join(dir, ResultFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("train: read %s: %w", path, err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return Result{}, fmt.Errorf("train: decode %s: %w", path, err)
	}
	return r, nil
}
