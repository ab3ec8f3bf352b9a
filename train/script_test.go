package train

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteJobDir checks the files the Slurm backend and the pool rely on;
// job.json is compared with testdata/job.golden.json (-update rewrites it).
func TestWriteJobDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "job")
	job := tinyJob("cand-42", "class Candidate: pass\n")
	job.RunName = "run1"
	if err := WriteJobDir(dir, job); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, JobFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "job.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("job.json differs from %s:\n%s", golden, got)
	}
	if src, _ := os.ReadFile(filepath.Join(dir, CandidateFile)); string(src) != job.Source {
		t.Errorf("candidate.py = %q", src)
	}
	if s, _ := os.ReadFile(filepath.Join(dir, ScriptFile)); string(s) != string(TrainerScript) || len(s) == 0 {
		t.Errorf("trainer.py is not the embedded script")
	}
	if _, err := ReadResult(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadResult without result.json: %v, want ErrNotExist", err)
	}
}
