package run

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCfg(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		env       map[string]string
		over      map[string]any
		wantErr   []string // substrings of the error; nil means success
		wantUsage bool
		check     func(t *testing.T, c Config)
	}{
		{
			name: "file values over defaults",
			yaml: "evolve:\n  budget:\n    trained: 12\n  planner:\n    epsilon: 0.25\ntrain:\n  workers: 3\n",
			check: func(t *testing.T, c Config) {
				if c.Evolve.Budget.Trained != 12 || c.Evolve.Planner.Epsilon != 0.25 || c.Train.Workers != 3 {
					t.Fatalf("got budget %d epsilon %g workers %d", c.Evolve.Budget.Trained, c.Evolve.Planner.Epsilon, c.Train.Workers)
				}
				if c.Evolve.Parents.K != 5 || c.LLM.MaxRepairs != 2 {
					t.Fatal("defaults of keys the file does not set were lost")
				}
			},
		},
		{
			name:      "unknown key names the key and the file",
			yaml:      "evolve:\n  budgett:\n    trained: 12\n",
			wantErr:   []string{`"evolve.budgett.trained"`, "cfg.yaml", "evolve.budget.trained"},
			wantUsage: true,
		},
		{
			name:      "a scalar where a section belongs is a type error",
			yaml:      "evolve: {budget: 7}\n",
			wantErr:   []string{"evolve.budget must be a mapping", "trained", "got the number 7"},
			wantUsage: true,
		},
		{
			name:      "a list where a section belongs is a type error",
			yaml:      "train:\n  recipe: [1, 2]\n",
			wantErr:   []string{"train.recipe must be a mapping", "got the list"},
			wantUsage: true,
		},
		{
			name:      "a mapping where a number belongs is a type error",
			yaml:      "evolve:\n  seed: {a: 1}\n",
			wantErr:   []string{"evolve.seed must be an integer, got a mapping"},
			wantUsage: true,
		},
		{
			name:      "a word where a boolean belongs is a type error",
			yaml:      "evolve:\n  dry_run: maybe\n",
			wantErr:   []string{"evolve.dry_run must be a boolean"},
			wantUsage: true,
		},
		{
			name:      "unknown section",
			yaml:      "evolution:\n  seed: 3\n",
			wantErr:   []string{`"evolution.seed"`, "sections: run, evolve, llm, train, mine"},
			wantUsage: true,
		},
		{
			name:      "a key with no near one names its section's keys, not the schema",
			yaml:      "evolve:\n  budget:\n    zzzzzzzzzzzzzz: 3\n",
			wantErr:   []string{`"evolve.budget.zzzzzzzzzzzzzz"`, "evolve.budget has llm_usd, target_acc, trained, wall_time"},
			wantUsage: true,
		},
		{
			name:      "a bad strategy suggests the near one",
			yaml:      "evolve:\n  strategy: thomson\n",
			wantErr:   []string{"config ", "cfg.yaml", "did you mean thompson?"},
			wantUsage: true,
		},
		{
			name:      "a bad value from the environment names the variable, not the file",
			yaml:      "evolve:\n  seed: 3\n",
			env:       map[string]string{"ARBOR_EVOLVE_STRATEGY": "thomson"},
			wantErr:   []string{`environment ARBOR_EVOLVE_STRATEGY="thomson": evolve.strategy`, "did you mean thompson?"},
			wantUsage: true,
		},
		{
			name:      "a bad value from a flag names the flag",
			yaml:      "evolve:\n  seed: 3\n",
			over:      map[string]any{"evolve.budget.trained": -1},
			wantErr:   []string{"command-line flag (evolve.budget.trained): evolve.budget"},
			wantUsage: true,
		},
		{
			name:      "out-of-range value names the key",
			yaml:      "evolve:\n  planner:\n    epsilon: 2\n",
			wantErr:   []string{"evolve.planner.epsilon"},
			wantUsage: true,
		},
		{
			name:      "wrong type",
			yaml:      "evolve:\n  parallel: lots\n",
			wantErr:   []string{"parallel"},
			wantUsage: true,
		},
		{
			name: "environment overrides the file",
			yaml: "evolve:\n  budget:\n    trained: 12\n  grace: 5s\n",
			env:  map[string]string{"ARBOR_EVOLVE_BUDGET_TRAINED": "40", "ARBOR_EVOLVE_GRACE": "2m", "ARBOR_LLM_MODEL": "gpt-x", "ARBOR_LLM_BASE_URL": "http://localhost:1/v1"},
			check: func(t *testing.T, c Config) {
				if c.Evolve.Budget.Trained != 40 || c.Evolve.Grace != 2*time.Minute || c.LLM.Model != "gpt-x" {
					t.Fatalf("env not applied: budget %d grace %s model %q", c.Evolve.Budget.Trained, c.Evolve.Grace, c.LLM.Model)
				}
			},
		},
		{
			name: "flags override the environment",
			yaml: "evolve:\n  seed: 3\n",
			env:  map[string]string{"ARBOR_EVOLVE_SEED": "4", "ARBOR_EVOLVE_BUDGET_TRAINED": "40"},
			over: map[string]any{"evolve.seed": uint64(9), "evolve.budget.trained": 7},
			check: func(t *testing.T, c Config) {
				if c.Evolve.Seed != 9 || c.Evolve.Budget.Trained != 7 {
					t.Fatalf("seed %d budget %d, want the flags' 9 and 7", c.Evolve.Seed, c.Evolve.Budget.Trained)
				}
			},
		},
		{
			name:      "bad environment value names the key",
			yaml:      "evolve:\n  seed: 3\n",
			env:       map[string]string{"ARBOR_TRAIN_WORKERS": "0"},
			wantErr:   []string{"environment ARBOR_TRAIN_WORKERS=\"0\"", "train.workers"},
			wantUsage: true,
		},
		{
			name:      "tabular needs a table",
			yaml:      "run:\n  evaluator: tabular\n",
			wantErr:   []string{"run.table"},
			wantUsage: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load(writeCfg(t, tc.yaml), tc.over)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if tc.wantUsage && !errors.Is(err, ErrInput) {
					t.Errorf("%v is not ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestExampleConfigsLoad(t *testing.T) {
	for _, name := range []string{"synthetic.yaml", "fashion-mnist.yaml"} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("..", "..", "examples", name), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Evolve.Budget.Trained < 1 {
				t.Fatalf("example %s has no training budget", name)
			}
		})
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{
		"ARBOR_EVOLVE_BUDGETT_TRAINED=3", // a typo
		"ARBOR_EVOLVE_BUDGET_TRAINED=3",  // a key
		"ARBOR_NB201_TABLE=/x",           // read by bench
		"ARBOR_TEST_RUN_MAIN=1",          // tests
		"ARBOR_WHATEVER=1",               // nothing near
		"ARBOR_LLM_API_KEY=sk-x",         // a credential llm.api_key_env may name
		"HOME=/root", "ARBORX=1",
	})
	if len(got) != 2 {
		t.Fatalf("%d warnings, want 2: %q", len(got), got)
	}
	if !strings.Contains(got[0], "ARBOR_EVOLVE_BUDGETT_TRAINED is not a configuration key") || !strings.Contains(got[0], "did you mean ARBOR_EVOLVE_BUDGET_TRAINED?") {
		t.Errorf("typo warning: %s", got[0])
	}
	if !strings.Contains(got[1], "ARBOR_WHATEVER") || strings.Contains(got[1], "did you mean") {
		t.Errorf("unknown-variable warning: %s", got[1])
	}
}
