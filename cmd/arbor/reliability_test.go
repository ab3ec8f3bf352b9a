package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

// echoKeyEnv names the API key variable of the echo and spend tests.
const echoKeyEnv = "ARBOR_RELIABILITY_TEST_KEY"

// llmTabularConfig is a fast search (NAS-Bench-201 lookups, no Python) whose
// resolver is the LLM at url.
func llmTabularConfig(t *testing.T, dir, table, url string, budget int, llmExtra string) string {
	t.Helper()
	return writeFile(t, dir, "cfg.yaml", fmt.Sprintf(`run:
  dir: %s
  evaluator: tabular
  table: %s
  log_level: debug
evolve:
  seed: 11
  seed_arch: nb201-resnet
  parallel: 2
  budget:
    trained: %d
  dry_run: false
  max_reject_streak: 1000
llm:
  base_url: %s
  api_key_env: %s
  structured: true
  backoff_base: 1ms
  backoff_max: 5ms
  models:
    - name: mock-model
      weight: 1
      input_usd_per_mtok: 3
      output_usd_per_mtok: 15
%s`, filepath.Join(dir, "run"), table, budget, url, echoKeyEnv, llmExtra))
}

// randomKey is a key of no recognisable shape: only the configured key
// itself can catch it.
func randomKey(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "Echo" + hex.EncodeToString(b)
}

// TestEchoedKeyNeverLeaks runs a search against an endpoint that echoes
// the Authorization header and the key in its answers' rationales, in 5xx
// error bodies, in a 4xx message and in invalid answers that are sent
// back for repair, and checks that the key appears nowhere: not in run.db
// or any file under the run directory, not on stdout or stderr, not in
// --json events, lineage, status, best or report.
func TestEchoedKeyNeverLeaks(t *testing.T) {
	table, _ := traintest.NB201(t)
	key := randomKey(t)
	srv := llmtest.New()
	defer srv.Close()
	for range 300 {
		srv.Push(llmtest.EchoingAnswer(),
			llmtest.Step{Status: http.StatusInternalServerError, EchoAuth: true},
			llmtest.EchoingAnswer(),
			llmtest.Step{Status: http.StatusBadRequest, EchoAuth: true},
			llmtest.Step{Content: `I refuse: {{auth}} / {{key}}`, EchoAuth: true},
			llmtest.EchoingAnswer())
	}
	tmp := t.TempDir()
	cfg := llmTabularConfig(t, tmp, table, srv.URL(), 12, "  max_retries: 1\n  max_repairs: 1\n  record_text: true\n")
	run := filepath.Join(tmp, "run")

	var outputs []string
	arbor := func(args ...string) string {
		t.Helper()
		cmd := arborCmd(args...)
		cmd.Env = append(cmd.Env, echoKeyEnv+"="+key)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("arbor %v: %v\n%s%s", args, err, out.String(), errb.String())
		}
		outputs = append(outputs, fmt.Sprintf("arbor %v stdout", args), out.String(), fmt.Sprintf("arbor %v stderr", args), errb.String())
		return out.String()
	}
	arbor("evolve", "--config", cfg, "--json")
	for _, r := range srv.Requests() {
		if r.Authorization != "Bearer "+key {
			t.Fatalf("the endpoint saw Authorization %q, not the key: the test would prove nothing", r.Authorization)
		}
	}
	arbor("status", run)
	arbor("status", run, "--json")
	arbor("best", run)
	arbor("lineage", run, "--dot")
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := s.Candidates(context.Background())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	echoed, rejected := 0, 0
	for _, c := range cands {
		arbor("lineage", run, c.ID)
		if strings.Contains(c.Rationale, "your key is [redacted]") {
			echoed++
		}
		if c.Status == store.StatusRejected && strings.Contains(c.Reason, "[redacted]") {
			rejected++
		}
	}
	if echoed == 0 || rejected == 0 {
		t.Errorf("%d rationales and %d rejection reasons carry a redacted echo; want both > 0 (did the echoes reach the store?)", echoed, rejected)
	}
	reportDir := filepath.Join(tmp, "report")
	arbor("report", run, "-o", reportDir)

	for i := 0; i < len(outputs); i += 2 {
		if strings.Contains(outputs[i+1], key) {
			t.Errorf("%s shows the key:\n%s", outputs[i], outputs[i+1])
		}
	}
	files := 0
	for _, root := range []string{run, reportDir} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			if bytes.Contains(data, []byte(key)) {
				t.Errorf("%s holds the key", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d requests, %d candidates (%d echoed rationales, %d echoed 4xx rejections), %d files and %d outputs checked",
		len(srv.Requests()), len(cands), echoed, rejected, files, len(outputs)/2)
}

// TestSpendCapSurvivesKills: with llm.limits.max_calls 6, a search killed
// with kill -9 at random moments and resumed, again and again, makes at
// most 6 requests in all, and status counts exactly what the server saw.
func TestSpendCapSurvivesKills(t *testing.T) {
	table, _ := traintest.NB201(t)
	key := randomKey(t)
	srv := llmtest.New()
	defer srv.Close()
	// Slow answers, so that kills land while requests are in flight.
	srv.Default = &llmtest.Step{FromSchema: true, Hang: 150 * time.Millisecond}
	tmp := t.TempDir()
	cfg := llmTabularConfig(t, tmp, table, srv.URL(), 40, "  limits:\n    max_calls: 6\n")
	run := filepath.Join(tmp, "run")
	rng := rand.New(rand.NewPCG(17, 17))
	start := func(args ...string) *exec.Cmd {
		cmd := arborCmd(args...)
		cmd.Env = append(cmd.Env, echoKeyEnv+"="+key)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for i := range 6 {
		args := []string{"evolve", "--resume", run, "--quiet"}
		if i == 0 {
			args = []string{"evolve", "--config", cfg, "--quiet"}
		}
		cmd := start(args...)
		time.Sleep(time.Duration(200+rng.IntN(700)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if n := len(srv.Requests()); n > 6 {
			t.Fatalf("after kill %d the server saw %d requests; max_calls is 6", i+1, n)
		}
		if _, err := os.Stat(filepath.Join(run, store.StoreFile)); err != nil && i == 0 {
			t.Fatalf("the first process was killed before it created the store; give it longer: %v", err)
		}
	}
	cmd := start("evolve", "--resume", run, "--quiet")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final resume: %v", err)
	}
	n := len(srv.Requests())
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Summary(context.Background())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server saw %d requests; status: %s; trained %d", n, sum.LLM, sum.Trained)
	if n > 6 || sum.LLM.Requests < n || sum.LLM.Requests > 6 || sum.Trained != 40 {
		t.Fatalf("server saw %d requests, status counts %d; want both <= 6 (status >= server) and 40 trained, got %d", n, sum.LLM.Requests, sum.Trained)
	}
}

// gratingsConfig is a real, small local search on the gratings dataset.
func gratingsConfig(t *testing.T, dir string, budget, parallel int) string {
	t.Helper()
	seed, err := filepath.Abs(filepath.Join("..", "..", "examples", "synthetic-seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "cfg.yaml", fmt.Sprintf(`run:
  dir: %s
  evaluator: local
evolve:
  strategy: thompson
  seed: 3
  seed_arch: %s
  parallel: %d
  budget:
    trained: %d
  dry_run: true
  grace: 5s
  # The kills are the test's own: a candidate in flight at several in a
  # row is no poison pill here.
  quarantine_after: 0
train:
  workers: %d
  recipe:
    epochs: 1
    batch_size: 32
    optimizer: sgd
    lr: 0.05
    momentum: 0.9
    warmup_epochs: 0
    augment: false
    subset: 512
    amp: false
    threads: 1
  dataset:
    name: gratings
    val_split: 0.125
  limits:
    wall_s: 300
`, filepath.Join(dir, "run"), seed, parallel, budget, parallel))
}

// startedJobs is how many training jobs the run has started so far.
func startedJobs(run string) int {
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		return 0
	}
	defer s.Close()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range cs {
		n += c.Attempts
	}
	return n
}

// waitCandidate polls the store until cond holds for candidate id.
func waitCandidate(t *testing.T, run, id string, d time.Duration, cond func(store.Candidate) bool) store.Candidate {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s, err := store.OpenStoreReadOnly(run); err == nil {
			c, err := s.Candidate(context.Background(), id)
			s.Close()
			if err == nil && cond(c) {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("candidate %s did not reach the awaited state within %v", id, d)
	return store.Candidate{}
}

// TestSeedDoubleKill: two kill -9 in a row while the seed trains, then
// --resume: the budget is trained, the seed trained once (to the end) and
// its record says nothing of a crash, only that arbor was interrupted twice.
func TestSeedDoubleKill(t *testing.T) {
	needTorch(t)
	tmp := t.TempDir()
	cfg := gratingsConfig(t, tmp, 3, 1)
	run := filepath.Join(tmp, "run")
	for i := range 2 {
		args := []string{"evolve", "--resume", run, "--quiet"}
		if i == 0 {
			args = []string{"evolve", "--config", cfg, "--quiet"}
		}
		cmd := arborCmd(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitCandidate(t, run, "c00001", 3*time.Minute, func(c store.Candidate) bool { return c.Attempts == i+1 })
		time.Sleep(300 * time.Millisecond) // into its training
		cmd.Process.Kill()
		cmd.Wait()
		c := waitCandidate(t, run, "c00001", time.Second, func(store.Candidate) bool { return true })
		if c.Status != store.StatusPending {
			t.Fatalf("kill %d came too late: the seed is already %s", i+1, c.Status)
		}
	}
	var out bytes.Buffer
	cmd := arborCmd("evolve", "--resume", run, "--quiet")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume after two kills of the seed: %v\n%s", err, out.String())
	}
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seed, err := s.Candidate(context.Background(), "c00001")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.TrainedCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed: %s/%s val %.1f%%, %d attempts, %d interrupted; %d trained", seed.Status, seed.Result.Status, seed.Result.ValAcc, seed.Attempts, seed.Interrupted, n)
	if seed.Status != store.StatusTrained || seed.Result.Status != train.StatusOK || seed.Result.Error != "" ||
		seed.Attempts != 3 || seed.Interrupted != 2 || n != 3 {
		t.Fatalf("want the seed trained once to the end (3 starts, 2 interrupted by kills, no error) and 3 trained; got %+v, %d trained", seed, n)
	}
}

// TestChaosKills: 10 kill -9 at random moments of a real search on the
// gratings dataset, then --resume to the end. The budget is trained
// exactly, no architecture is trained twice, no candidate is marked
// failed or crashed, and no temporary directory is left, in the run
// directory or in TMPDIR.
func TestChaosKills(t *testing.T) {
	needTorch(t)
	tmp := t.TempDir()
	const budget = 6
	cfg := gratingsConfig(t, tmp, budget, 2)
	run := filepath.Join(tmp, "run")
	tmpdir := filepath.Join(tmp, "TMPDIR")
	if err := os.Mkdir(tmpdir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2026, 12))
	start := func(args ...string) *exec.Cmd {
		cmd := arborCmd(args...)
		cmd.Env = append(cmd.Env, "TMPDIR="+tmpdir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Half the kills land at a random moment after the process starts
	// (start-up, gate, first proposals), half at a random moment after it
	// has started a training job (training, storing, proposing the next).
	var kills []string
	for i := range 10 {
		args := []string{"evolve", "--resume", run, "--quiet"}
		if _, err := os.Stat(filepath.Join(run, store.StoreFile)); err != nil {
			args = []string{"evolve", "--config", cfg, "--quiet"}
		}
		before := startedJobs(run)
		cmd := start(args...)
		began := time.Now()
		what := "start"
		if i%2 == 1 {
			what = "job start"
			for startedJobs(run) == before && time.Since(began) < 2*time.Minute {
				time.Sleep(20 * time.Millisecond)
			}
		}
		after := time.Duration(200+rng.IntN(2500)) * time.Millisecond
		time.Sleep(after)
		cmd.Process.Kill()
		cmd.Wait()
		kills = append(kills, fmt.Sprintf("%v after %s", after.Round(time.Millisecond), what))
	}
	args := []string{"evolve", "--resume", run, "--quiet"}
	if _, err := os.Stat(filepath.Join(run, store.StoreFile)); err != nil {
		args = []string{"evolve", "--config", cfg, "--quiet"}
	}
	var out bytes.Buffer
	cmd := start(args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final resume: %v\n%s", err, out.String())
	}
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := s.Candidates(context.Background())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	trained, interrupted := 0, 0
	hashes := map[string]string{}
	for _, c := range cands {
		interrupted += c.Interrupted
		switch c.Status {
		case store.StatusPending:
			t.Errorf("%s is still pending after the final resume", c.ID)
		case store.StatusFailed:
			t.Errorf("%s is marked failed (%s: %s); only a job's own evidence may fail it", c.ID, c.Result.Status, c.Result.Error)
		case store.StatusTrained:
			trained++
			if prev, dup := hashes[c.Hash]; dup {
				t.Errorf("%s and %s have the same hash: an architecture trained twice", prev, c.ID)
			}
			hashes[c.Hash] = c.ID
		}
	}
	if trained != budget {
		t.Errorf("%d trained, want exactly the budget %d", trained, budget)
	}
	if interrupted == 0 {
		t.Errorf("no kill interrupted a training job: the test did not exercise resume of in-flight work")
	}
	var left []string
	for _, dir := range []string{tmpdir, filepath.Join(run, "tmp")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			left = append(left, filepath.Join(dir, e.Name()))
		}
	}
	if len(left) > 0 {
		t.Errorf("temporary files left after the run: %v", left)
	}
	t.Logf("kills: %v; %d candidates, %d trained, %d trainings interrupted by kills and re-queued", kills, len(cands), trained, interrupted)
}
