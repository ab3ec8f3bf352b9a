package evolve

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
)

func TestPlannerStateRoundTripContinuesStream(t *testing.T) {
	p := NewPlanner(DefaultPlannerConfig(), 42)
	for i := 0; i < 50; i++ {
		op, cat, _ := p.Choose(nil)
		p.Update(op, cat, i%3 == 0)
	}
	saved, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Planner
	if err := q.UnmarshalBinary(saved); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		op1, c1, _ := p.Choose(nil)
		op2, c2, _ := q.Choose(nil)
		if op1 != op2 || c1 != c2 {
			t.Fatalf("draw %d after restore: %s/%s vs %s/%s", i, op1, c1, op2, c2)
		}
		p.Update(op1, c1, i%2 == 0)
		q.Update(op2, c2, i%2 == 0)
	}
}

func TestPlannerLearns(t *testing.T) {
	tests := []struct {
		name    string
		epsilon float64
		minGood float64 // minimum share of draws for the rewarding op
		maxGood float64
	}{
		{"greedy thompson prefers the winning op", 0, 0.8, 1},
		{"paper epsilon still prefers it", 0.5, 0.5, 0.75},
		{"epsilon 1 is uniform", 1, 0.12, 0.22},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultPlannerConfig()
			cfg.Epsilon = tc.epsilon
			p := NewPlanner(cfg, 7)
			good := 0
			const n = 3000
			for i := 0; i < n; i++ {
				op, cat, ok := p.Choose(nil)
				if !ok {
					t.Fatal("no op")
				}
				if op == OpSwap {
					good++
				}
				// Only swap ever succeeds; every other op fails at the gate.
				p.Update(op, cat, op == OpSwap)
			}
			share := float64(good) / n
			if share < tc.minGood || share > tc.maxGood {
				t.Fatalf("swap chosen %.3f of the time, want in [%.2f,%.2f]", share, tc.minGood, tc.maxGood)
			}
		})
	}
}

func TestPlannerCategoryLevel(t *testing.T) {
	cfg := DefaultPlannerConfig()
	cfg.Epsilon = 0
	p := NewPlanner(cfg, 3)
	rev := 0
	for i := 0; i < 2000; i++ {
		op, cat, _ := p.Choose(nil)
		if cat == CatReverse {
			rev++
		}
		p.Update(op, cat, cat == CatReverse)
	}
	if rev < 1500 {
		t.Fatalf("reverse chosen %d/2000 times though it alone is rewarded", rev)
	}
}

func TestPlannerAllowed(t *testing.T) {
	p := NewPlanner(DefaultPlannerConfig(), 1)
	for i := 0; i < 200; i++ {
		op, _, ok := p.Choose(func(op string) bool { return op != OpRepeat && op != OpCompose })
		if !ok || op == OpRepeat || op == OpCompose {
			t.Fatalf("got disallowed %q (ok=%v)", op, ok)
		}
	}
	if _, _, ok := p.Choose(func(string) bool { return false }); ok {
		t.Fatal("Choose with nothing allowed must report !ok")
	}
}

func TestPlannerConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*PlannerConfig)
		want string
	}{
		{"default ok", func(*PlannerConfig) {}, ""},
		{"epsilon", func(c *PlannerConfig) { c.Epsilon = 1.5 }, "evolve.planner.epsilon"},
		{"prior", func(c *PlannerConfig) { c.PriorBeta = 0 }, "prior_alpha/prior_beta"},
		{"reward", func(c *PlannerConfig) { c.Reward = "vibes" }, "evolve.planner.reward"},
		{"op", func(c *PlannerConfig) { c.Ops = []string{"mutate"} }, "unknown operation"},
		{"category", func(c *PlannerConfig) { c.Categories = []string{"x"} }, "unknown category"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultPlannerConfig()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestPlannerStateReadByStore: what the planner saves is what the store's
// Posteriors decodes (the store owns the public record of the posteriors).
func TestPlannerStateReadByStore(t *testing.T) {
	ctx := context.Background()
	s, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := NewPlanner(DefaultPlannerConfig(), 3)
	p.Update(OpSwap, CatExploit, true)
	p.Update(OpInsert, CatReverse, false)
	state, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, Write{Planner: state}); err != nil {
		t.Fatal(err)
	}
	post, ok, err := s.Posteriors(ctx)
	if err != nil || !ok {
		t.Fatalf("posteriors: ok=%v err=%v", ok, err)
	}
	ops, cats := p.Arms()
	if !reflect.DeepEqual(post.Ops, ops) || !reflect.DeepEqual(post.Cats, cats) {
		t.Fatalf("store decodes %+v / %+v, the planner holds %+v / %+v", post.Ops, post.Cats, ops, cats)
	}
	if a := post.Ops[OpSwap]; a.Alpha != 2 || a.Beta != 1 || a.Wins != 1 {
		t.Errorf("swap posterior %+v, want Beta(2,1) with one win", a)
	}
}
