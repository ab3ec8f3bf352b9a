package train

import (
	"strings"
	"testing"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	cases := []struct {
		key string
		mod func(*Config)
	}{
		{"train.workers", func(c *Config) { c.Workers = 0 }},
		{"train.workers", func(c *Config) { c.Workers = 1000 * MaxWorkers(0) }},
		{"train.sandbox", func(c *Config) { c.Sandbox = "chroot" }},
		{"train.devices[1]", func(c *Config) { c.Devices = []string{"0", "1,2"} }},
		{"train.kill_grace_s", func(c *Config) { c.KillGraceS = 0 }},
		{"train.gate_timeout_s", func(c *Config) { c.GateTimeoutS = -1 }},
		{"train.gate_threads", func(c *Config) { c.GateThreads = 0 }},
		{"train.recipe.epochs", func(c *Config) { c.Recipe.Epochs = 0 }},
		{"train.recipe.batch_size", func(c *Config) { c.Recipe.BatchSize = -2 }},
		{"train.recipe.optimizer", func(c *Config) { c.Recipe.Optimizer = "adam" }},
		{"train.recipe.lr", func(c *Config) { c.Recipe.LR = 0 }},
		{"train.recipe.momentum", func(c *Config) { c.Recipe.Momentum = 1 }},
		{"train.recipe.nesterov", func(c *Config) { c.Recipe.Momentum = 0 }},
		{"train.recipe.weight_decay", func(c *Config) { c.Recipe.WeightDecay = -1 }},
		{"train.recipe.warmup_epochs", func(c *Config) { c.Recipe.WarmupEpochs = 5 }},
		{"train.recipe.label_smoothing", func(c *Config) { c.Recipe.LabelSmoothing = 1 }},
		{"train.recipe.subset", func(c *Config) { c.Recipe.Subset = 2.5 }},
		{"train.recipe.threads", func(c *Config) { c.Recipe.Threads = -1 }},
		{"train.dataset.name", func(c *Config) { c.Dataset.Name = "svhn" }},
		{"train.dataset.path", func(c *Config) { c.Dataset = Dataset{Name: "cifar10"} }},
		{"train.dataset.val_split", func(c *Config) { c.Dataset.ValSplit = 1 }},
		{"train.limits.wall_s", func(c *Config) { c.Limits.WallSeconds = -1 }},
		{"train.limits.max_params", func(c *Config) { c.Limits.MaxParams = -1 }},
		{"train.limits.max_flops", func(c *Config) { c.Limits.MaxFLOPs = -1 }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%s: got %v", tc.key, err)
		}
	}
}

func TestConfigJob(t *testing.T) {
	c := DefaultConfig()
	c.Dataset = Dataset{Name: "cifar100", Path: "/data/c100"}
	j, err := c.Job("a", "src", 3)
	if err != nil {
		t.Fatal(err)
	}
	if j.Input != [3]int{3, 32, 32} || j.Classes != 100 || j.Seed != 3 || j.Recipe != c.Recipe {
		t.Errorf("job %+v", j)
	}
	c.Dataset.Name = "nope"
	if _, err := c.Job("a", "src", 3); err == nil {
		t.Error("unknown dataset accepted")
	}
}
