package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pidSource is the tiny candidate appending its interpreter's PID to file.
func pidSource(t testing.TB, file string) string {
	return strings.Replace(candidate(t, "tiny"), "super().__init__()",
		"super().__init__()\n        import os\n        open("+pyQuote(file)+", 'a').write('%d\\n' % os.getpid())", 1)
}

func pyQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestLocalResident: a worker's interpreter runs job after job (one PID),
// a job gives the same numbers there as in a fresh interpreter, the test set
// is read only when the job asks, and worker_jobs replaces the interpreter.
func TestLocalResident(t *testing.T) {
	for _, tc := range []struct {
		name       string
		workerJobs int
		samePID    bool
	}{{"resident", 0, true}, {"one-job-each", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			// Unconfined: the candidate records its interpreter's PID in a
			// file outside its job folder, and inside bwrap's PID namespace
			// every fresh interpreter could carry the same PID.
			cfg := testConfig(t, 1)
			cfg.Sandbox = "none"
			cfg.WorkerJobs = tc.workerJobs
			l := newTestPool(t, cfg)
			pids := filepath.Join(t.TempDir(), "pids")
			job := tinyJob("a", pidSource(t, pids))
			job.Test = false
			a, err := l.Evaluate(context.Background(), job, nil)
			if err != nil || a.Status != StatusOK {
				t.Fatalf("%v %+v", err, a)
			}
			if a.TestAcc != 0 {
				t.Errorf("test accuracy %g measured for a job that did not ask", a.TestAcc)
			}
			job.ID, job.Test = "b", true
			b, err := l.Evaluate(context.Background(), job, nil)
			if err != nil || b.Status != StatusOK {
				t.Fatalf("%v %+v", err, b)
			}
			if b.TestAcc < 80 || b.ValAcc != a.ValAcc || b.Curve[0].TrainLoss != a.Curve[0].TrainLoss {
				t.Errorf("second job: val %g loss %g test %g; first: val %g loss %g",
					b.ValAcc, b.Curve[0].TrainLoss, b.TestAcc, a.ValAcc, a.Curve[0].TrainLoss)
			}
			data, err := os.ReadFile(pids)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Fields(string(data))
			if len(got) != 2 || (got[0] == got[1]) != tc.samePID {
				t.Errorf("interpreter PIDs %v, want the same one: %v", got, tc.samePID)
			}
		})
	}
}

// TestLocalResidentMatchesFresh: a job run by a resident interpreter after
// another job gives exactly what a fresh interpreter gives.
func TestLocalResidentMatchesFresh(t *testing.T) {
	cfg := testConfig(t, 1)
	cfg.Prestart = false
	fresh := newTestPool(t, cfg)
	job := tinyJob("x", candidate(t, "tiny"))
	want, err := fresh.Evaluate(context.Background(), job, nil)
	if err != nil || want.Status != StatusOK {
		t.Fatalf("%v %+v", err, want)
	}
	resident := newTestPool(t, testConfig(t, 1))
	other := tinyJob("warm-up", candidate(t, "tiny"))
	other.Seed = 99
	if r, err := resident.Evaluate(context.Background(), other, nil); err != nil || r.Status != StatusOK {
		t.Fatalf("%v %+v", err, r)
	}
	got, err := resident.Evaluate(context.Background(), job, nil)
	if err != nil || got.Status != StatusOK {
		t.Fatalf("%v %+v", err, got)
	}
	if got.ValAcc != want.ValAcc || got.TestAcc != want.TestAcc || got.Curve[0].TrainLoss != want.Curve[0].TrainLoss {
		t.Errorf("resident: val %g test %g loss %g; fresh: val %g test %g loss %g",
			got.ValAcc, got.TestAcc, got.Curve[0].TrainLoss, want.ValAcc, want.TestAcc, want.Curve[0].TrainLoss)
	}
}
