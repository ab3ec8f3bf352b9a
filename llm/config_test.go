package llm

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"default", func(*Config) {}, ""},
		{"online", func(c *Config) { c.BaseURL = "http://localhost:8000/v1"; c.Model = "m" }, ""},
		{"no model", func(c *Config) { c.BaseURL = "http://x/v1" }, "llm.model"},
		{"bad url", func(c *Config) { c.BaseURL = "localhost:8000"; c.Model = "m" }, "llm.base_url"},
		{"both", func(c *Config) { c.Model = "m"; c.Models = []ModelConfig{{Name: "n", Weight: 1}} }, "llm.model: set either"},
		{"zero weights", func(c *Config) { c.Models = []ModelConfig{{Name: "n"}} }, "llm.models: at least one weight"},
		{"dup model", func(c *Config) { c.Models = []ModelConfig{{Name: "n", Weight: 1}, {Name: "n", Weight: 1}} }, "llm.models[1].name"},
		{"usd without prices", func(c *Config) {
			c.Limits.MaxUSD = 1
			c.Models = []ModelConfig{{Name: "n", Weight: 1}}
		}, "llm.models[0].input_usd_per_mtok"},
		{"temperature", func(c *Config) { c.Temperature = 3 }, "llm.temperature"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "llm.timeout"},
		{"backoff", func(c *Config) { c.BackoffMax = time.Microsecond }, "llm.backoff_max"},
		{"repairs", func(c *Config) { c.MaxRepairs = -1 }, "llm.max_repairs"},
		{"offline args", func(c *Config) { c.Offline.Args = "greedy" }, "llm.offline.args"},
		{"limits", func(c *Config) { c.Limits.MaxCalls = -1 }, "llm.limits.max_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want mention of %q", err, tt.want)
			}
		})
	}
}
