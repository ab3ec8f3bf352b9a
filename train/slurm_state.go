package train

import (
	"fmt"
	"strings"
)

// slurmTerminal lists the job states after which Slurm does nothing more
// with a job (squeue's %T names).
var slurmTerminal = map[string]bool{
	"BOOT_FAIL": true, "CANCELLED": true, "COMPLETED": true, "DEADLINE": true,
	"FAILED": true, "NODE_FAIL": true, "OUT_OF_MEMORY": true, "PREEMPTED": true,
	"TIMEOUT": true, "REVOKED": true, "SPECIAL_EXIT": true,
}

// slurmBaseState strips scontrol's decorations ("CANCELLED by 0",
// "COMPLETING+") down to the state name.
func slurmBaseState(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " +"); i >= 0 {
		s = s[:i]
	}
	return strings.ToUpper(s)
}

const slurmUnknownMsg = "is unknown to Slurm and left no result.json"

// slurmOutcome is what a finished job means for its candidate.
type slurmOutcome struct {
	Status  Status
	Requeue bool // submit once more: the job died for reasons of the cluster, not the candidate
	Error   string
}

// classifySlurm maps a terminal Slurm state to a result status. haveResult
// says the trainer wrote result.json, which then wins: the trainer finished
// whatever Slurm said afterwards. attempt counts submissions before this one.
func classifySlurm(state string, haveResult bool, attempt int, jobID, tail string) slurmOutcome {
	if haveResult {
		return slurmOutcome{Status: StatusOK}
	}
	msg := func(what string) string {
		m := fmt.Sprintf("slurm job %s %s", jobID, what)
		if tail != "" {
			m += "; log tail:\n" + tail
		}
		return m
	}
	switch state {
	case "COMPLETED":
		return slurmOutcome{Status: StatusCrashed, Error: msg("completed without writing result.json")}
	case "FAILED", "SPECIAL_EXIT":
		return slurmOutcome{Status: StatusCrashed, Error: msg("failed")}
	case "TIMEOUT", "DEADLINE":
		return slurmOutcome{Status: StatusTimeout, Error: msg("hit its time limit (train.slurm.time)")}
	case "OUT_OF_MEMORY":
		return slurmOutcome{Status: StatusOOM, Error: msg("ran out of memory (train.slurm.mem)")}
	case "CANCELLED", "REVOKED":
		return slurmOutcome{Status: StatusCancelled, Error: msg("was cancelled")}
	case "NODE_FAIL", "PREEMPTED", "BOOT_FAIL":
		if attempt == 0 {
			return slurmOutcome{Requeue: true}
		}
		return slurmOutcome{Status: StatusCrashed, Error: msg(fmt.Sprintf("ended in %s again after one resubmission", state))}
	case "":
		return slurmOutcome{Status: StatusCrashed, Error: msg(slurmUnknownMsg)}
	}
	return slurmOutcome{Status: StatusCrashed, Error: msg("ended in unexpected state " + state)}
}

// parseSqueue reads `squeue -h -o %i|%T` output into job ID → state.
func parseSqueue(out string) map[string]string {
	states := make(map[string]string)
	for _, line := range strings.Split(out, "\n") {
		id, state, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok || id == "" {
			continue
		}
		states[id] = slurmBaseState(state)
	}
	return states
}

// parseScontrolJob reads the one-line `scontrol show job -o ID` record into
// its Key=Value fields. Values never contain spaces except Command and
// paths, which come last or are not needed here.
func parseScontrolJob(out string) map[string]string {
	fields := make(map[string]string)
	for _, f := range strings.Fields(out) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if _, seen := fields[k]; !seen {
			fields[k] = v
		}
	}
	return fields
}

// parseSbatchID reads `sbatch --parsable` output: "ID" or "ID;cluster".
func parseSbatchID(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[i+1:])
	}
	id, _, _ := strings.Cut(line, ";")
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("sbatch --parsable printed %q, not a job ID", out)
	}
	return id, nil
}
