package train

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// SlurmConfig is the `train.slurm` section: how candidates become Slurm jobs.
type SlurmConfig struct {
	// sbatch --partition; empty: the cluster default.
	Partition string `mapstructure:"partition" yaml:"partition"`
	// sbatch --account; empty: none.
	Account string `mapstructure:"account" yaml:"account"`
	// sbatch --qos; empty: none.
	QOS string `mapstructure:"qos" yaml:"qos"`
	// sbatch --gres per candidate, e.g. gpu:1; empty: none.
	Gres string `mapstructure:"gres" yaml:"gres"`
	// sbatch --cpus-per-task per candidate.
	CPUsPerTask int `mapstructure:"cpus_per_task" yaml:"cpus_per_task"`
	// sbatch --mem per candidate, e.g. 8G; empty: the cluster default.
	Mem string `mapstructure:"mem" yaml:"mem"`
	// sbatch --time per candidate in any Slurm format; Slurm's TIMEOUT
	// becomes status timeout.
	Time string `mapstructure:"time" yaml:"time"`
	// Extra sbatch arguments appended to every submission (tracking flags
	// such as --job-name are refused).
	ExtraArgs []string `mapstructure:"extra_args" yaml:"extra_args"`
	// The Python interpreter ON THE COMPUTE NODES; it must import torch (the
	// start-up probe checks it).
	Python string `mapstructure:"python" yaml:"python"`
	// Most jobs queued or running at once.
	MaxInFlight int `mapstructure:"max_in_flight" yaml:"max_in_flight"`
	// Job directories; must be on a filesystem shared by the login node and
	// the compute nodes (checked by a probe job).
	RunDir string `mapstructure:"run_dir" yaml:"run_dir"`
	// How often one squeue call checks every job in flight.
	PollInterval time.Duration `mapstructure:"poll_interval" yaml:"poll_interval"`
	// Skip the shared-filesystem probe job at start.
	SkipProbe bool `mapstructure:"skip_probe" yaml:"skip_probe"`
}

// DefaultSlurmConfig is one CPU per job, eight jobs in flight and a poll
// every second: one squeue call a second is a modest load for slurmctld.
func DefaultSlurmConfig() SlurmConfig {
	return SlurmConfig{
		CPUsPerTask:  1,
		Python:       "python3",
		MaxInFlight:  8,
		PollInterval: time.Second,
	}
}

var (
	slurmMemRe  = regexp.MustCompile(`^[0-9]+[KMGT]?$`)
	slurmTimeRe = regexp.MustCompile(`^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$|^UNLIMITED$|^INFINITE$`)
	// sbatch options that the evaluator sets itself; overriding them would
	// break job tracking.
	slurmReservedArgs = []string{"--parsable", "--job-name", "-J", "--output", "-o", "--error", "-e",
		"--chdir", "-D", "--wrap", "--export", "--array", "-a", "--requeue", "--no-requeue"}
)

// Validate reports the first invalid key, named as in the config file.
func (c SlurmConfig) Validate() error {
	for key, v := range map[string]string{"partition": c.Partition, "account": c.Account, "qos": c.QOS, "gres": c.Gres} {
		if strings.ContainsAny(v, " \t\n") {
			return fmt.Errorf("train.slurm.%s: %q must not contain whitespace", key, v)
		}
	}
	if c.CPUsPerTask < 1 {
		return fmt.Errorf("train.slurm.cpus_per_task: must be >= 1, got %d", c.CPUsPerTask)
	}
	if c.Mem != "" && !slurmMemRe.MatchString(c.Mem) {
		return fmt.Errorf("train.slurm.mem: %q is not a Slurm size such as 4000, 8G or 512M", c.Mem)
	}
	if c.Time != "" && !slurmTimeRe.MatchString(c.Time) {
		return fmt.Errorf("train.slurm.time: %q is not a Slurm time such as 30, 1:00:00 or 1-12:00:00", c.Time)
	}
	for _, a := range c.ExtraArgs {
		name, _, _ := strings.Cut(a, "=")
		for _, r := range slurmReservedArgs {
			if name == r {
				return fmt.Errorf("train.slurm.extra_args: %q is set by arbor itself; remove it", a)
			}
		}
	}
	if strings.TrimSpace(c.Python) == "" {
		return fmt.Errorf("train.slurm.python: must name the interpreter on the compute nodes (e.g. /usr/bin/python3)")
	}
	if c.MaxInFlight < 1 {
		return fmt.Errorf("train.slurm.max_in_flight: must be >= 1, got %d", c.MaxInFlight)
	}
	if c.RunDir == "" {
		return fmt.Errorf("train.slurm.run_dir: must be set to a directory on a filesystem the compute nodes share")
	}
	if !filepath.IsAbs(c.RunDir) {
		return fmt.Errorf("train.slurm.run_dir: %q must be absolute, because jobs run in another working directory", c.RunDir)
	}
	if c.PollInterval < 100*time.Millisecond {
		return fmt.Errorf("train.slurm.poll_interval: %s is too fast for slurmctld; use >= 100ms", c.PollInterval)
	}
	return nil
}

// sbatchArgs are the resource options shared by every job of the run; the
// probe job asks for no GPUs.
func (c SlurmConfig) sbatchArgs(withGres bool) []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag+"="+v)
		}
	}
	add("--partition", c.Partition)
	add("--account", c.Account)
	add("--qos", c.QOS)
	if withGres {
		add("--gres", c.Gres)
	}
	args = append(args, fmt.Sprintf("--cpus-per-task=%d", c.CPUsPerTask))
	add("--mem", c.Mem)
	add("--time", c.Time)
	return append(args, c.ExtraArgs...)
}
