package train

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// slurmSqueueChunk bounds the job list of one squeue call.
const slurmSqueueChunk = 500

// poll is the single goroutine that asks Slurm about every job in flight:
// one squeue call per PollInterval for all of them, scontrol only for jobs
// squeue no longer lists. Never sacct: many clusters run without
// accounting. Between those calls it only stats the jobs' result.json
// files, which costs slurmctld nothing and records a finished job within
// a fraction of a second.
func (s *Slurm) poll() {
	defer close(s.done)
	tick := min(max(s.cfg.PollInterval/4, 50*time.Millisecond), 250*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var lastSlurm time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ws := s.snapshot()
		if len(ws) == 0 {
			continue
		}
		ws = s.pollFiles(ws)
		if len(ws) > 0 && time.Since(lastSlurm) >= s.cfg.PollInterval-tick/2 {
			lastSlurm = time.Now()
			s.pollSlurm(ws)
		}
	}
}

func (s *Slurm) snapshot() []*slurmWatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := make([]*slurmWatch, 0, len(s.watched))
	for _, id := range s.watchedIDs() {
		ws = append(ws, s.watched[id])
	}
	return ws
}

// finish hands a job's end to its waiter and stops following it.
func (s *Slurm) finish(w *slurmWatch, f slurmFinal) {
	s.mu.Lock()
	delete(s.watched, w.id)
	s.mu.Unlock()
	w.final <- f
}

// pollFiles finishes the jobs whose result.json exists and returns the
// rest. The trainer writes result.json atomically as its last act (and
// Evaluate removed any older one), so its presence is final whatever
// state Slurm would report; recording it now saves a poll and the wait
// for Slurm's epilogue.
func (s *Slurm) pollFiles(ws []*slurmWatch) []*slurmWatch {
	rest := ws[:0]
	for _, w := range ws {
		if fileExists(filepath.Join(w.dir, "result.json")) {
			s.finish(w, slurmFinal{state: w.state, haveResult: true})
			continue
		}
		rest = append(rest, w)
	}
	return rest
}

func (s *Slurm) pollSlurm(ws []*slurmWatch) {
	states := make(map[string]string, len(ws))
	for start := 0; start < len(ws); start += slurmSqueueChunk {
		end := min(start+slurmSqueueChunk, len(ws))
		ids := make([]string, 0, end-start)
		for _, w := range ws[start:end] {
			ids = append(ids, w.id)
		}
		out, err := s.command(context.Background(), "squeue", "-h", "-t", "all", "-j", strings.Join(ids, ","), "-o", "%i|%T")
		if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
			// slurmctld may be busy or restarting; the next tick retries.
			s.log.Warn("squeue failed; retrying next poll", "err", err)
			return
		}
		for id, st := range parseSqueue(out) {
			states[id] = st
		}
	}
	for _, w := range ws {
		st, ok := states[w.id]
		if !ok {
			// squeue forgets jobs after MinJobAge; scontrol may still know.
			var err error
			if st, err = s.scontrolState(w.id); err != nil {
				s.log.Warn("scontrol failed; retrying next poll", "job", w.id, "err", err)
				continue
			}
		}
		if st == "" || slurmTerminal[st] {
			s.finish(w, slurmFinal{state: st, haveResult: waitForFile(filepath.Join(w.dir, "result.json"), st)})
			continue
		}
		if st == "RUNNING" && w.progress != nil {
			s.scanProgress(w)
		}
		if st != w.state {
			s.log.Debug("job state", "job", w.id, "state", st)
			w.state = st
		}
	}
}

// scontrolState is the job's state per `scontrol show job -o`, or "" when
// Slurm no longer knows the job.
func (s *Slurm) scontrolState(id string) (string, error) {
	out, err := s.command(context.Background(), "scontrol", "show", "job", "-o", id)
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return "", nil
		}
		return "", err
	}
	return slurmBaseState(parseScontrolJob(out)["JobState"]), nil
}

// waitForFile reports whether path exists. After a clean COMPLETED it
// looks again for up to two seconds first: on NFS the login node may not
// see a file another node just wrote.
func waitForFile(path, state string) bool {
	if fileExists(path) {
		return true
	}
	if state != "COMPLETED" {
		return false
	}
	for i := 0; i < 8; i++ {
		time.Sleep(250 * time.Millisecond)
		if fileExists(path) {
			return true
		}
	}
	return false
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// scanProgress reports the newest {"progress": ...} line the trainer has
// printed to the job log since the last poll.
func (s *Slurm) scanProgress(w *slurmWatch) {
	f, err := os.Open(filepath.Join(w.dir, "slurm-"+w.id+".log"))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(w.logOff, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return
	}
	w.logOff += int64(end + 1)
	var last *Progress
	for _, line := range bytes.Split(data[:end], []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`{"progress"`)) {
			continue
		}
		var msg struct {
			Progress Progress `json:"progress"`
		}
		if json.Unmarshal(line, &msg) == nil {
			p := msg.Progress
			last = &p
		}
	}
	if last != nil {
		last.JobID = w.candidate
		w.progress(*last)
	}
}
