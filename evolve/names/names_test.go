package names

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"evolve.budget.trained", "evolve.budget.wall_time", "evolve.strategy", "train.recipe.epochs"}
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"evolve.budget.trainedd", "evolve.budget.trained", true},
		{"evolve.budget.traned", "evolve.budget.trained", true},
		{"EVOLVE.STRATEGY", "evolve.strategy", true},
		{"train.recipe.epoch", "train.recipe.epochs", true},
		{"llm.model", "", false},
		{"", "", false},
	} {
		got, ok := Closest(tc.word, keys)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
	if h := Hint("thomson", []string{"thompson", "random", "evolution"}); h != "; did you mean thompson?" {
		t.Errorf("Hint(thomson) = %q", h)
	}
	if h := Hint("zzz", []string{"thompson"}); h != "" {
		t.Errorf("Hint(zzz) = %q", h)
	}
	if _, ok := Closest("x", nil); ok {
		t.Error("Closest with no options found one")
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"ünï", "uni", 2}} {
		if got := distance(tc.a, tc.b); got != tc.d {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func FuzzClosest(f *testing.F) {
	f.Add("evolve.seed", "evolve.seed_arch")
	f.Fuzz(func(t *testing.T, word, opt string) {
		if d := distance(word, opt); d != distance(opt, word) || d < 0 {
			t.Fatalf("distance not symmetric or negative: %q %q", word, opt)
		}
		if c, ok := Closest(word, []string{opt}); ok && c != opt {
			t.Fatalf("Closest returned %q, not the only option", c)
		}
	})
}
