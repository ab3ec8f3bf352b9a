package llm

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func TestOfflineDeterministicAndValid(t *testing.T) {
	d := loadDecision(t)
	uniform := OfflineConfig{Policy: PolicyUniform}
	a, b := NewOffline(7, uniform), NewOffline(7, uniform)
	counts := map[string]int{}
	for i := range 500 {
		d.Trial = i
		c1, err := a.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := b.Resolve(context.Background(), d)
		if !reflect.DeepEqual(c1, c2) {
			t.Fatalf("trial %d: %+v != %+v", i, c1, c2)
		}
		revalidate(t, d, c1)
		if c1.Usage.Model != OfflineModel || c1.Usage.Attempts != 0 {
			t.Fatalf("usage %+v", c1.Usage)
		}
		counts[c1.OptionID]++
	}
	// Uniform over 5 options: 100 each, sd ~9.
	for id, n := range counts {
		if n < 60 || n > 140 {
			t.Fatalf("option %s drawn %d of 500 times: %v", id, n, counts)
		}
	}
	if len(counts) != 5 {
		t.Fatalf("not all options drawn: %v", counts)
	}
	d.Trial = 3
	c7, _ := a.Resolve(context.Background(), d)
	same := 0
	for seed := range uint64(20) {
		c, _ := NewOffline(seed+100, uniform).Resolve(context.Background(), d)
		if reflect.DeepEqual(c.Args, c7.Args) && c.OptionID == c7.OptionID {
			same++
		}
	}
	if same == 20 {
		t.Fatal("the seed does not change the draw")
	}
}

func TestOfflineDefaultsPreference(t *testing.T) {
	d := loadDecision(t)
	o := NewOffline(1, OfflineConfig{Args: "defaults"})
	for i := range 50 {
		d.Trial = i
		c, err := o.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := d.Option(c.OptionID)
		for _, a := range opt.Args {
			want, _ := coerceArg(a, a.Default)
			if !reflect.DeepEqual(c.Args[a.Name], want) {
				t.Fatalf("%s.%s = %v, want default %v", c.OptionID, a.Name, c.Args[a.Name], want)
			}
		}
	}
}

// TestRandomChoiceAlwaysValidates draws over random option shapes: the
// fallback must never produce something validation would reject.
func TestRandomChoiceAlwaysValidates(t *testing.T) {
	rng := newTestRand(3)
	types := []string{ArgInt, ArgFloat, ArgBool, ArgString, ArgEnum, ArgInts}
	for i := range 300 {
		var args []ArgRange
		for j := range rng.IntN(4) {
			a := ArgRange{Name: string(rune('a' + j)), Type: types[rng.IntN(len(types))]}
			if rng.IntN(2) == 0 {
				a.Min = float64(rng.IntN(10) - 5)
				a.Max = a.Min + float64(rng.IntN(20))
			}
			if a.Type == ArgEnum || a.Type == ArgString && rng.IntN(2) == 0 {
				a.Choices = []string{"x", "y", "z"}
			}
			args = append(args, a)
		}
		d := Decision{Operation: "op", Category: Diversity, Trial: i, Options: []Option{{ID: "a", Path: "p", Args: args}, {ID: "b", Path: "q"}}}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"uniform", "defaults"} {
			c, err := NewOffline(uint64(i), OfflineConfig{Args: mode}).Resolve(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			revalidate(t, d, c)
		}
	}
}

func TestNewPicksOfflineWithoutEndpoint(t *testing.T) {
	var logs bytes.Buffer
	r, err := New(DefaultConfig(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*Offline); !ok {
		t.Fatalf("got %T, want *Offline", r)
	}
	if !strings.Contains(logs.String(), "using the offline resolver") {
		t.Fatalf("offline use not logged: %q", logs.String())
	}
	cfg := testConfig("http://127.0.0.1:1/v1")
	r, err = New(cfg, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*Provider); !ok {
		t.Fatalf("got %T, want *Provider", r)
	}
}

// TestOfflineCategories: for one parent with a lineage, the offline
// exploit, reverse and diversity choices differ, each as its category
// defines it, and the uniform policy ignores the category.
func TestOfflineCategories(t *testing.T) {
	d := Decision{Operation: "change-arg", Trial: 4, Parent: ParentSummary{Outline: "x", History: []Step{
		// The lineage widened stage2 and won; the last child tried widened the stem and lost.
		{Op: "change-arg", Transform: "change_arg", Path: "/stage2/conv", Arg: "out", Before: "32", After: "48", Reward: 1, Delta: 0.8},
		{Op: "insert", Transform: "insert", Path: "/stage3", Module: "relu6", Reward: 1, Delta: 0.2},
		{Op: "change-arg", Transform: "change_arg", Path: "/stem/conv", Arg: "out", Before: "16", After: "24", Reward: 0, Delta: -1.1, Tried: true},
	}}}
	enum := func(cur string, vals ...string) []ArgRange {
		return []ArgRange{{Name: "out", Type: ArgEnum, Choices: vals, Default: vals[0]}}
	}
	d.Options = []Option{
		{ID: "o1", Path: "/stage2/conv", Description: "width of stage2", Transform: "change_arg", Arg: "out", Current: "48", Args: enum("48", "24", "64", "96"), Uses: 4},
		{ID: "o2", Path: "/stem/conv", Description: "width of the stem", Transform: "change_arg", Arg: "out", Current: "24", Args: enum("24", "8", "16", "32"), Uses: 3},
		{ID: "o3", Path: "/stage1/conv", Description: "width of stage1", Transform: "change_arg", Arg: "out", Current: "16", Args: enum("16", "8", "24"), Uses: 2},
		{ID: "o4", Path: "/head/fc", Description: "bias of the head", Transform: "change_arg", Arg: "bias", Current: "true", Args: []ArgRange{{Name: "bias", Type: ArgEnum, Choices: []string{"false"}, Default: "false"}}, Uses: 0},
	}
	want := map[Category]struct{ option, out string }{
		Exploit:   {"o1", "64"}, // continue the winning widening at stage2, one step further up
		Reverse:   {"o2", "16"}, // undo the losing stem widening: back to its value before
		Diversity: {"o4", ""},   // the least explored place
	}
	seen := map[string]bool{}
	for _, cat := range Categories() {
		d.Category = cat
		for _, seed := range []uint64{1, 2, 3} {
			c, err := NewOffline(seed, OfflineConfig{}).Resolve(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			revalidate(t, d, c)
			w := want[cat]
			if c.OptionID != w.option || (w.out != "" && c.Args["out"] != w.out) {
				t.Fatalf("%s (seed %d) chose %s %v (%s), want %s out=%s", cat, seed, c.OptionID, c.Args, c.Rationale, w.option, w.out)
			}
			seen[c.OptionID] = true
		}
	}
	if len(seen) != 3 {
		t.Fatalf("the three categories did not choose three different options: %v", seen)
	}
	// The ablation policy ignores the category: every category draws all
	// options about uniformly.
	for _, cat := range Categories() {
		d.Category = cat
		counts := map[string]int{}
		for trial := range 400 {
			d.Trial = trial
			c, _ := NewOffline(1, OfflineConfig{Policy: PolicyUniform}).Resolve(context.Background(), d)
			counts[c.OptionID]++
		}
		for _, o := range d.Options {
			if counts[o.ID] < 60 {
				t.Fatalf("uniform policy, %s: %v is not uniform over 4 options", cat, counts)
			}
		}
	}
}

// TestOfflineExploitBuildsOnTheLastWin: exploit never changes the
// argument its winning ancestor set (it would undo the win); it moves
// another edge the way the win moved its own.
func TestOfflineExploitBuildsOnTheLastWin(t *testing.T) {
	edge := func(id, arg, cur string, choices ...string) Option {
		return Option{ID: id, Path: "/stage1/cell0", Transform: "change_arg", Arg: arg, Current: cur,
			Description: "change " + arg, Args: []ArgRange{{Name: arg, Type: ArgEnum, Choices: choices, Default: choices[0]}}}
	}
	d := Decision{Operation: "change-arg", Category: Exploit,
		Parent: ParentSummary{History: []Step{
			{Op: "change-arg", Transform: "change_arg", Path: "/stage1/cell0", Arg: "e2_1", Before: "none", After: "nor_conv_3x3", Reward: 1, Delta: 0.8},
			{Op: "change-arg", Transform: "change_arg", Path: "/stage1/cell0", Arg: "e3_0", Before: "skip_connect", After: "avg_pool_3x3", Reward: 0, Delta: -2, Tried: true},
		}},
		Options: []Option{
			edge("o1", "e2_1", "nor_conv_3x3", "none", "skip_connect", "nor_conv_1x1"),
			edge("o2", "e3_1", "none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3"),
			edge("o3", "e1_0", "skip_connect", "none", "nor_conv_1x1", "nor_conv_3x3"),
		}}
	o := NewOffline(3, OfflineConfig{})
	for i := range 60 {
		d.Trial = i
		c, err := o.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		revalidate(t, d, c)
		if c.OptionID == "o1" {
			t.Fatalf("trial %d: exploit changed e2_1, the argument the last win set: %+v", i, c)
		}
		opt, _ := d.Option(c.OptionID)
		if got := c.Args[opt.Arg]; got != "nor_conv_3x3" {
			t.Fatalf("trial %d: exploit set %s to %v, want the winning value nor_conv_3x3", i, opt.Arg, got)
		}
	}
	// Only the reverting option left: it is still a valid answer.
	d.Options = d.Options[:1]
	if c, err := o.Resolve(context.Background(), d); err != nil || c.OptionID != "o1" {
		t.Fatalf("with one option: %+v, %v", c, err)
	}
}

func TestUndoes(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Option
		s    Step
		want bool
	}{
		{"same arg again", Option{Transform: "change_arg", Path: "/a", Arg: "k"}, Step{Transform: "change_arg", Path: "/a", Arg: "k"}, true},
		{"other arg", Option{Transform: "change_arg", Path: "/a", Arg: "s"}, Step{Transform: "change_arg", Path: "/a", Arg: "k"}, false},
		{"swapped node swapped", Option{Transform: "swap", Path: "/a/b"}, Step{Transform: "swap", Path: "/a/b"}, true},
		{"swapped node deleted", Option{Transform: "delete", Path: "/a/b"}, Step{Transform: "swap", Path: "/a/b"}, true},
		{"inserted node deleted", Option{Transform: "delete", Path: "/a/x"}, Step{Transform: "insert", Path: "/a"}, true},
		{"delete elsewhere", Option{Transform: "delete", Path: "/c/x"}, Step{Transform: "insert", Path: "/a"}, false},
		{"deleted module inserted back", Option{Transform: "insert", Path: "/a", Node: "relu"}, Step{Transform: "delete", Path: "/a/r", Module: "relu"}, true},
	} {
		if got := undoes(tc.o, tc.s); got != tc.want {
			t.Errorf("%s: undoes = %v, want %v", tc.name, got, tc.want)
		}
	}
}
