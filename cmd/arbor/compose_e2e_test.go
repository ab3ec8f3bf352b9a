package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// composeConfig is a real, small local search on the gratings dataset
// whose planner may only compose, so the first child after the seed
// defines a composite block.
func composeConfig(t *testing.T, dir string, budget int) string {
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
  parallel: 1
  budget:
    trained: %d
  planner:
    ops: [compose]
  dry_run: true
  grace: 5s
train:
  workers: 1
  recipe:
    epochs: 1
    batch_size: 32
    optimizer: sgd
    lr: 0.05
    momentum: 0.9
    warmup_epochs: 0
    augment: false
    subset: 256
    amp: false
    threads: 1
  dataset:
    name: gratings
    val_split: 0.125
  limits:
    wall_s: 300
`, filepath.Join(dir, "run"), seed, budget))
}

// storedCandidates reads every candidate of the run read-only.
func storedCandidates(t *testing.T, run string) []store.Candidate {
	t.Helper()
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestComposeKillResumeExport: a real `arbor evolve` defines a composite
// block; its process group is killed with SIGKILL right after the compose
// child is stored; `arbor evolve --resume` finishes the budget. The block
// is still known afterwards (stored definition, `arbor lineage`), nothing
// is trained twice, and `arbor best --id --export` writes a file that
// declares the block as its own nn.Module and runs in PyTorch.
func TestComposeKillResumeExport(t *testing.T) {
	needTorch(t)
	py := torchPython(t)
	tmp := t.TempDir()
	const budget = 3
	cfg := composeConfig(t, tmp, budget)
	run := filepath.Join(tmp, "run")

	cmd := arborCmd("evolve", "--config", cfg, "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}()
	// Wait until a compose child that defines a block is trained.
	var comp store.Candidate
	deadline := time.Now().Add(3 * time.Minute)
	for comp.ID == "" && time.Now().Before(deadline) {
		if s, err := store.OpenStoreReadOnly(run); err == nil {
			cs, err := s.Candidates(context.Background())
			s.Close()
			for _, c := range cs {
				if err == nil && c.Op == store.OpCompose && c.Module != "" && c.Status == store.StatusTrained {
					comp = c
					break
				}
			}
		}
		if comp.ID == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if comp.ID == "" {
		t.Fatal("no compose child with a block was trained within 3 minutes")
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 of the process group: %v", err)
	}
	waitErr := cmd.Wait()
	killed = true
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("arbor evolve was not killed by SIGKILL (it had already ended: %v)", waitErr)
	}
	before := storedCandidates(t, run)
	trainedBefore := 0
	for _, c := range before {
		if c.Status == store.StatusTrained {
			trainedBefore++
		}
	}
	if trainedBefore >= budget {
		t.Fatalf("the kill came after the budget was trained (%d): nothing left to resume", trainedBefore)
	}
	def, _ := comp.Args["definition"].(string)
	if def == "" || comp.Args["placed_at"] == nil {
		t.Fatalf("%s: the stored edit lacks the block's definition or site: %v", comp.ID, comp.Args)
	}

	out, err := arborCmd("evolve", "--resume", run, "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}

	after := storedCandidates(t, run)
	trained, reused := 0, 0
	hashes := map[string]string{}
	var again store.Candidate
	for _, c := range after {
		if c.ID == comp.ID {
			again = c
		}
		if c.Status == store.StatusPending {
			t.Errorf("%s is still pending after the resume", c.ID)
		}
		if c.Status != store.StatusTrained {
			continue
		}
		trained++
		if prev, dup := hashes[c.Hash]; dup {
			t.Errorf("%s and %s have the same hash: an architecture trained twice", prev, c.ID)
		}
		hashes[c.Hash] = c.ID
		if c.ID != comp.ID && blockSites(t, c, comp.Module) > 0 {
			reused++
		}
	}
	if trained != budget {
		t.Errorf("%d trained after the resume, want exactly the budget %d", trained, budget)
	}
	if again.Status != store.StatusTrained || again.Hash != comp.Hash || again.Result.ValAcc != comp.Result.ValAcc || again.Attempts != comp.Attempts {
		t.Errorf("the compose child changed across the kill and resume: before %s %s %.2f%% %d attempts, after %s %s %.2f%% %d attempts",
			comp.Status, comp.Hash, comp.Result.ValAcc, comp.Attempts, again.Status, again.Hash, again.Result.ValAcc, again.Attempts)
	}
	if sites := blockSites(t, again, comp.Module); sites < 2 {
		t.Errorf("%s: block %s appears at %d sites in the stored tree, want its definition and another placement", comp.ID, comp.Module, sites)
	}

	// arbor lineage shows the block's name and definition.
	lin, err := arborCmd("lineage", run, comp.ID).CombinedOutput()
	if err != nil {
		t.Fatalf("lineage: %v\n%s", err, lin)
	}
	quoted, _ := json.Marshal(def)
	if !strings.Contains(string(lin), "module:    "+comp.Module) || !strings.Contains(string(lin), string(quoted)) {
		t.Errorf("lineage lacks block %s or its definition %s:\n%s", comp.Module, quoted, lin)
	}

	// arbor best --id --export writes the compose child; it runs in PyTorch.
	model := filepath.Join(tmp, "OUT.py")
	if out, err := arborCmd("best", run, "--id", comp.ID, "--export", model).CombinedOutput(); err != nil {
		t.Fatalf("best --export: %v\n%s", err, out)
	}
	src, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "class Block_"+comp.Module+"(nn.Module)") || !strings.Contains(string(src), comp.ID) {
		t.Fatalf("the export lacks class Block_%s(nn.Module) or its provenance %s:\n%s", comp.Module, comp.ID, src)
	}
	pyCmd := exec.Command(py, model)
	pyCmd.Dir = tmp
	pyOut, err := pyCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python %s: %v\n%s", model, err, pyOut)
	}
	if want := fmt.Sprintf("output (2, 10) parameters %d", comp.Params); !strings.Contains(string(pyOut), want) {
		t.Errorf("the exported model printed %q, want %q", pyOut, want)
	}
	t.Logf("killed after %s (compose, block %s at %d sites) with %d of %d trained; resumed to %d trained, %d later trained children carry the block; export ran: %s",
		comp.ID, comp.Module, blockSites(t, again, comp.Module), trainedBefore, budget, trained, reused, strings.TrimSpace(string(pyOut)))
}

// blockSites counts the nodes of c's stored tree that are instances of block.
func blockSites(t *testing.T, c store.Candidate, block string) int {
	t.Helper()
	tr, err := tree.Parse(c.Tree)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	tr.Walk(func(_ string, node *tree.Node) bool {
		if node.Block == block {
			n++
		}
		return true
	})
	return n
}
