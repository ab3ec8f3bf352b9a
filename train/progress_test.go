package train

import "testing"

func TestParseTrainerLine(t *testing.T) {
	cases := []struct {
		line            string
		ok, prog, epoch bool
	}{
		{`{"progress": {"epoch": 1, "step": 3, "steps": 10, "loss": 2.3}}`, true, true, false},
		{`{"epoch": {"epoch": 2, "val_acc": 88.1}}`, true, false, true},
		{`  {"progress": {"epoch": 1}}  `, true, true, false},
		{`hello from the candidate`, false, false, false},
		{`{"id": 1, "status": "ok"}`, false, false, false},
		{`{"progress": `, false, false, false},
		{`{"progress": "x"}`, false, false, false},
		{``, false, false, false},
	}
	for _, tc := range cases {
		p, e, ok := ParseTrainerLine([]byte(tc.line))
		if ok != tc.ok || (p != nil) != tc.prog || (e != nil) != tc.epoch {
			t.Errorf("%q: ok=%v progress=%v epoch=%v", tc.line, ok, p != nil, e != nil)
		}
	}
	p, _, _ := ParseTrainerLine([]byte(`{"progress": {"epoch": 1, "step": 3, "steps": 10, "loss": 2.5}}`))
	if *p != (Progress{Epoch: 1, Step: 3, Steps: 10, Loss: 2.5}) {
		t.Errorf("decoded %+v", *p)
	}
}

func FuzzParseTrainerLine(f *testing.F) {
	f.Add([]byte(`{"progress": {"epoch": 1, "step": 3, "steps": 10, "loss": 2.3}}`))
	f.Add([]byte(`{"epoch": {"epoch": 2}}`))
	f.Add([]byte(`{"progress": null, "epoch": null}`))
	f.Add([]byte("\x00{"))
	f.Fuzz(func(t *testing.T, line []byte) {
		p, e, ok := ParseTrainerLine(line)
		if ok != (p != nil || e != nil) {
			t.Fatalf("ok=%v but progress=%v epoch=%v", ok, p, e)
		}
	})
}
