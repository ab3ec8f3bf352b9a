package train

import (
	"bytes"
	"encoding/json"
)

// trainerLine is one JSON line the trainer prints on stdout: a progress tick
// or an epoch summary. Other lines (the candidate's own prints) are ignored.
type trainerLine struct {
	Progress *Progress  `json:"progress"`
	Epoch    *EpochStat `json:"epoch"`
}

// startedLine is what a --serve trainer prints when it takes its job.
var startedLine = []byte(`{"started": true}`)

// ParseTrainerLine decodes one stdout line of trainer.py. ok is false for
// anything that is not a trainer message, which callers skip.
func ParseTrainerLine(line []byte) (progress *Progress, epoch *EpochStat, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' {
		return nil, nil, false
	}
	var msg trainerLine
	if err := json.Unmarshal(line, &msg); err != nil {
		return nil, nil, false
	}
	if msg.Progress == nil && msg.Epoch == nil {
		return nil, nil, false
	}
	return msg.Progress, msg.Epoch, true
}
