package tree

import (
	"testing"
)

// FuzzTransforms applies random sequences of transformations to the seeds:
// every result must pass Check or come back as a typed *TransformError, and
// nothing may panic.
func FuzzTransforms(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(3), []byte{200, 17, 99, 3, 0, 0, 255, 31, 64, 12})
	f.Add(uint8(4), []byte("nasbench cells and ties"))
	f.Add(uint8(5), []byte{9, 9, 9, 9, 1, 1, 1, 1, 250, 4})
	cat := testCatalog()
	cands := testCandidates()
	f.Fuzz(func(t *testing.T, seed uint8, choices []byte) {
		seeds := Seeds()
		shapes := []Shape{{3, 32, 32}, {1, 28, 28}, {3, 16, 16}}
		tr, err := Seed(seeds[int(seed)%len(seeds)], shapes[int(seed/8)%len(shapes)], 10)
		if err != nil {
			t.Fatal(err)
		}
		ch := &chooser{b: choices}
		steps := 1 + len(choices)%6
		for i := 0; i < steps; i++ {
			tr = randomEdit(t, ch, tr, cands, cat)
		}
		// The result must survive a JSON round trip with its hash.
		data, err := tr.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(data)
		if err != nil {
			t.Fatalf("Parse(Canonical) of a transformed tree: %v", err)
		}
		if Hash(back) != Hash(tr) {
			t.Fatal("hash changed across a round trip")
		}
		if _, err := Render(tr, cat); err != nil {
			t.Fatalf("Render of a valid tree: %v", err)
		}
	})
}

// FuzzParse feeds arbitrary bytes to Parse: no panics, and whatever parses
// has a stable canonical form.
func FuzzParse(f *testing.F) {
	f.Add([]byte(smallTree))
	f.Add([]byte(`{"schema":1,"input":[3,8,8],"classes":2,"root":{"kind":"cell","args":{"e1_0":"skip_connect"}}}`))
	f.Add([]byte(`{"input":[1,2,3],"classes":1,"root":{"kind":"repeat","args":{"n":2},"children":[{"kind":"op","op":"relu","name":"r"}]}}`))
	f.Add([]byte(`{"root": [`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Parse(data)
		if err != nil {
			return
		}
		c1, err := tr.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		tr2, err := Parse(c1)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
		}
		c2, _ := tr2.Canonical()
		if string(c1) != string(c2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c1, c2)
		}
		if Hash(tr) != Hash(tr2) {
			t.Fatal("hash not stable")
		}
		_, _ = Check(tr, nil)
	})
}
