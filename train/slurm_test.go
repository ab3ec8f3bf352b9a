package train

import (
	"strings"
	"testing"
	"time"
)

func validSlurmConfig() SlurmConfig {
	c := DefaultSlurmConfig()
	c.RunDir = "/shared/arbor/run1"
	return c
}

func TestSlurmConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*SlurmConfig)
		wantKey string // "" = valid
	}{
		{"default with run dir", func(*SlurmConfig) {}, ""},
		{"full", func(c *SlurmConfig) {
			c.Partition, c.Account, c.QOS, c.Gres = "gpu", "proj42", "normal", "gpu:1"
			c.Mem, c.Time, c.ExtraArgs = "16G", "1-00:00:00", []string{"--constraint=a100"}
		}, ""},
		{"time minutes", func(c *SlurmConfig) { c.Time = "30" }, ""},
		{"time mm:ss", func(c *SlurmConfig) { c.Time = "30:00" }, ""},
		{"mem plain MB", func(c *SlurmConfig) { c.Mem = "4000" }, ""},
		{"no run dir", func(c *SlurmConfig) { c.RunDir = "" }, "train.slurm.run_dir"},
		{"relative run dir", func(c *SlurmConfig) { c.RunDir = "runs/x" }, "train.slurm.run_dir"},
		{"zero cpus", func(c *SlurmConfig) { c.CPUsPerTask = 0 }, "train.slurm.cpus_per_task"},
		{"zero in flight", func(c *SlurmConfig) { c.MaxInFlight = 0 }, "train.slurm.max_in_flight"},
		{"no python", func(c *SlurmConfig) { c.Python = " " }, "train.slurm.python"},
		{"bad mem", func(c *SlurmConfig) { c.Mem = "lots" }, "train.slurm.mem"},
		{"bad time", func(c *SlurmConfig) { c.Time = "an hour" }, "train.slurm.time"},
		{"spaced partition", func(c *SlurmConfig) { c.Partition = "gpu a100" }, "train.slurm.partition"},
		{"spaced gres", func(c *SlurmConfig) { c.Gres = "gpu: 1" }, "train.slurm.gres"},
		{"reserved extra arg", func(c *SlurmConfig) { c.ExtraArgs = []string{"--job-name=x"} }, "train.slurm.extra_args"},
		{"reserved short arg", func(c *SlurmConfig) { c.ExtraArgs = []string{"-o"} }, "train.slurm.extra_args"},
		{"poll too fast", func(c *SlurmConfig) { c.PollInterval = time.Millisecond }, "train.slurm.poll_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validSlurmConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}

func TestSlurmSbatchArgs(t *testing.T) {
	c := validSlurmConfig()
	c.Partition, c.Gres, c.Mem, c.Time, c.CPUsPerTask = "gpu", "gpu:1", "8G", "60", 4
	c.ExtraArgs = []string{"--constraint=a100"}
	want := "--partition=gpu --gres=gpu:1 --cpus-per-task=4 --mem=8G --time=60 --constraint=a100"
	if got := strings.Join(c.sbatchArgs(true), " "); got != want {
		t.Errorf("sbatchArgs(true) = %q, want %q", got, want)
	}
	if got := strings.Join(c.sbatchArgs(false), " "); strings.Contains(got, "gres") {
		t.Errorf("sbatchArgs(false) = %q asks the probe for GPUs", got)
	}
}

func TestClassifySlurm(t *testing.T) {
	tests := []struct {
		state      string
		haveResult bool
		attempt    int
		want       Status
		requeue    bool
	}{
		{"COMPLETED", true, 0, StatusOK, false},
		{"RUNNING", true, 0, StatusOK, false}, // result written, epilogue pending
		{"FAILED", true, 0, StatusOK, false},  // the trainer finished first
		{"COMPLETED", false, 0, StatusCrashed, false},
		{"FAILED", false, 0, StatusCrashed, false},
		{"TIMEOUT", false, 0, StatusTimeout, false},
		{"DEADLINE", false, 0, StatusTimeout, false},
		{"OUT_OF_MEMORY", false, 0, StatusOOM, false},
		{"CANCELLED", false, 0, StatusCancelled, false},
		{"NODE_FAIL", false, 0, "", true},
		{"PREEMPTED", false, 0, "", true},
		{"BOOT_FAIL", false, 0, "", true},
		{"NODE_FAIL", false, 1, StatusCrashed, false},
		{"PREEMPTED", false, 1, StatusCrashed, false},
		{"", false, 0, StatusCrashed, false}, // vanished from Slurm
		{"WEIRD_NEW_STATE", false, 0, StatusCrashed, false},
	}
	for _, tt := range tests {
		got := classifySlurm(tt.state, tt.haveResult, tt.attempt, "42", "Traceback: boom")
		if got.Status != tt.want || got.Requeue != tt.requeue {
			t.Errorf("classifySlurm(%q, result=%v, attempt=%d) = %+v, want status %q requeue %v",
				tt.state, tt.haveResult, tt.attempt, got, tt.want, tt.requeue)
		}
		if got.Status != StatusOK && !got.Requeue && (!strings.Contains(got.Error, "boom") || !strings.Contains(got.Error, "42")) {
			t.Errorf("classifySlurm(%q) error %q lacks the job ID or the log tail", tt.state, got.Error)
		}
	}
}

func TestParseSqueue(t *testing.T) {
	out := "12|RUNNING\n13|PENDING\n\n 14|COMPLETING+ \ngarbage\n"
	got := parseSqueue(out)
	want := map[string]string{"12": "RUNNING", "13": "PENDING", "14": "COMPLETING"}
	if len(got) != len(want) {
		t.Fatalf("parseSqueue = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parseSqueue[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseScontrolJob(t *testing.T) {
	// A real line from this cluster (slurm 22.05), shortened.
	out := "JobId=1 JobName=arbor-x-y UserId=root(0) JobState=CANCELLED Reason=None Requeue=1 Restarts=0 " +
		"ExitCode=0:15 RunTime=00:00:01 StdOut=/tmp/j-1.log Power= \n"
	f := parseScontrolJob(out)
	for k, v := range map[string]string{"JobId": "1", "JobState": "CANCELLED", "ExitCode": "0:15", "StdOut": "/tmp/j-1.log", "Power": ""} {
		if f[k] != v {
			t.Errorf("field %s = %q, want %q", k, f[k], v)
		}
	}
	if got := slurmBaseState("CANCELLED by 0"); got != "CANCELLED" {
		t.Errorf("slurmBaseState = %q", got)
	}
}

func TestParseSbatchID(t *testing.T) {
	tests := []struct {
		out, want string
		ok        bool
	}{
		{"123\n", "123", true},
		{"123;cluster\n", "123", true},
		{"sbatch: warning: something\n77\n", "77", true},
		{"", "", false},
		{"Submitted batch job 5\n", "", false},
		{"12a\n", "", false},
	}
	for _, tt := range tests {
		got, err := parseSbatchID(tt.out)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSbatchID(%q) = %q, %v; want %q ok=%v", tt.out, got, err, tt.want, tt.ok)
		}
	}
}

func TestSlurmSafe(t *testing.T) {
	tests := map[string]string{"c-0001": "c-0001", "a/b c": "a_b_c", "": "_", ".hidden": "_.hidden", "x;rm -rf": "x_rm_-rf"}
	for in, want := range tests {
		if got := slurmSafe(in); got != want {
			t.Errorf("slurmSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseSbatchID(f *testing.F) {
	for _, s := range []string{"1\n", "99;c\n", "x", "warn\n5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		id, err := parseSbatchID(out)
		if err != nil {
			return
		}
		if id == "" || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("parseSbatchID(%q) = %q, not a numeric ID", out, id)
		}
	})
}

func FuzzSlurmSafe(f *testing.F) {
	for _, s := range []string{"c-1", "a b", "", "../../etc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := slurmSafe(in)
		if got == "" || got[0] == '.' || strings.ContainsAny(got, "/ \t\n;'\"$") {
			t.Fatalf("slurmSafe(%q) = %q is not a safe name", in, got)
		}
	})
}

func TestSlurmExportList(t *testing.T) {
	s := &Slurm{env: []string{"PATH=/usr/bin", "OPENAI_API_KEY=sk-x", "HOME=/root", "CUDA_VISIBLE_DEVICES=0",
		"OMP_NUM_THREADS=2", "SLURM_CONF=/etc/slurm.conf", "MY_TOKEN=t", "PATH=/dup"}}
	if got, want := s.exportList(), "HOME,OMP_NUM_THREADS,PATH"; got != want {
		t.Errorf("exportList = %q, want %q", got, want)
	}
	if got := (&Slurm{env: []string{"OPENAI_API_KEY=x"}}).exportList(); got != "NONE" {
		t.Errorf("exportList with nothing allowed = %q, want NONE", got)
	}
}
