package mine

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train/child"
)

// Config controls mining and probing. Keys use the `mine.` prefix in the
// composed YAML configuration.
type Config struct {
	// Files parsed in parallel.
	Jobs int `mapstructure:"jobs" yaml:"jobs"`
	// Larger source files are skipped with a warning.
	MaxFileBytes int64 `mapstructure:"max_file_bytes" yaml:"max_file_bytes"`
	// Globs of files to mine (matched against the relative path when they
	// contain a /, else the base name); empty: all *.py.
	Include []string `mapstructure:"include" yaml:"include"`
	// Globs of files to skip, matched like include.
	Exclude []string `mapstructure:"exclude" yaml:"exclude"`
	// Interpreter for the interface probe; empty: the first of python3,
	// /usr/bin/python3 that can import torch.
	Python string `mapstructure:"python" yaml:"python"`
	// How the probe's child is confined: auto, bwrap or none, as
	// train.sandbox (mined code runs in it).
	Sandbox string `mapstructure:"sandbox" yaml:"sandbox"`
	// Time limit of one module's probe; a module over it is marked failed.
	ProbeTimeout time.Duration `mapstructure:"probe_timeout" yaml:"probe_timeout"`
	// Address-space cap (RLIMIT_AS) of the probe's child process in MiB, so a
	// module that allocates without bound fails alone; 0 = no cap, else at
	// least 1024.
	ProbeMemoryMB int `mapstructure:"probe_memory_mb" yaml:"probe_memory_mb"`
	// Three increasing channel widths the parameter and MAC polynomials are
	// fitted from.
	ProbeWidths [3]int `mapstructure:"probe_widths" yaml:"probe_widths"`
	// Spatial size of the probe's dummy input.
	RefHW int `mapstructure:"ref_hw" yaml:"ref_hw"`
	// Redactor cleans what mined code writes (probe errors, a crashed
	// child's stderr) before it reaches the catalog or the log; arbor mine
	// sets it from the llm section. Not a configuration key.
	Redactor llm.Redactor `mapstructure:"-" yaml:"-" json:"-"`
}

// DefaultConfig returns the settings used by `arbor mine` without flags.
func DefaultConfig() Config {
	return Config{
		Jobs:          2,
		MaxFileBytes:  8 << 20,
		Python:        "",
		Sandbox:       "auto",
		ProbeTimeout:  20 * time.Second,
		ProbeMemoryMB: 8192,
		ProbeWidths:   [3]int{8, 16, 32},
		RefHW:         12,
	}
}

// Validate reports the first invalid key, named as in the YAML schema.
func (c Config) Validate() error {
	var errs []error
	if c.Jobs < 1 {
		errs = append(errs, fmt.Errorf("mine.jobs: must be >= 1, got %d", c.Jobs))
	}
	if c.MaxFileBytes < 1 {
		errs = append(errs, fmt.Errorf("mine.max_file_bytes: must be >= 1, got %d", c.MaxFileBytes))
	}
	for _, g := range append(append([]string{}, c.Include...), c.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("mine.include/exclude: bad glob %q: %w", g, err))
		}
	}
	if !child.ValidSandboxMode(c.Sandbox) {
		errs = append(errs, fmt.Errorf("mine.sandbox: must be auto, bwrap or none, got %q", c.Sandbox))
	}
	if c.ProbeTimeout <= 0 {
		errs = append(errs, fmt.Errorf("mine.probe_timeout: must be > 0, got %s", c.ProbeTimeout))
	}
	if c.ProbeMemoryMB < 0 || (c.ProbeMemoryMB > 0 && c.ProbeMemoryMB < 1024) {
		errs = append(errs, fmt.Errorf("mine.probe_memory_mb: must be 0 (no cap) or >= 1024 (torch alone needs about 1 GB), got %d", c.ProbeMemoryMB))
	}
	w := c.ProbeWidths
	if w[0] < 1 || !(w[0] < w[1] && w[1] < w[2]) {
		errs = append(errs, fmt.Errorf("mine.probe_widths: need three increasing positive widths, got %v", w))
	}
	if c.RefHW < 4 {
		errs = append(errs, fmt.Errorf("mine.ref_hw: must be >= 4, got %d", c.RefHW))
	}
	return errors.Join(errs...)
}
