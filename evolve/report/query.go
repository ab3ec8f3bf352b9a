package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Value is a number of a candidate: a metric, maximised, or an objective
// (a cost), minimised.
type Value func(c *store.Candidate) float64

// The metrics a run is ranked by.
const (
	ValAcc  = "val_acc"
	TestAcc = "test_acc"
)

// Metric is the metric called name: val_acc (the search's signal) or
// test_acc.
func Metric(name string) (Value, error) {
	switch name {
	case ValAcc:
		return func(c *store.Candidate) float64 { return c.Result.ValAcc }, nil
	case TestAcc:
		return func(c *store.Candidate) float64 { return c.Result.TestAcc }, nil
	}
	return nil, fmt.Errorf("--metric %q: want val_acc or test_acc", name)
}

// Objective is the cost called name (params, flops or latency) and its
// name for people.
func Objective(name string) (Value, string, error) {
	switch name {
	case "params":
		return func(c *store.Candidate) float64 { return float64(c.Params) }, "parameters", nil
	case "flops":
		return func(c *store.Candidate) float64 { return float64(c.FLOPs) }, "FLOPs", nil
	case "latency":
		return func(c *store.Candidate) float64 { return c.Result.LatencyMS }, "latency (ms)", nil
	}
	return nil, "", fmt.Errorf("--objective %q: want params, flops or latency", name)
}

// Feasible keeps the candidates that trained successfully.
func Feasible(cs []store.Candidate) []store.Candidate {
	var out []store.Candidate
	for i := range cs {
		if cs[i].Feasible() {
			out = append(out, cs[i])
		}
	}
	return out
}

// Top returns the n best feasible candidates by metric (val_acc or
// test_acc), earlier candidates first on ties; n < 0: all of them.
func Top(cs []store.Candidate, metric string, n int) []store.Candidate {
	m, err := Metric(metric)
	if err != nil {
		return nil
	}
	out := Feasible(cs)
	slices.SortStableFunc(out, func(a, b store.Candidate) int { return cmp.Compare(m(&b), m(&a)) })
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// ParetoFront returns the candidates no other candidate beats on both
// metric (higher is better) and cost (lower is better), by rising cost.
// Of candidates equal on both, the earliest is kept.
func ParetoFront(cs []store.Candidate, metric, cost Value) []store.Candidate {
	s := slices.Clone(cs)
	slices.SortStableFunc(s, func(a, b store.Candidate) int {
		return cmp.Or(cmp.Compare(cost(&a), cost(&b)), cmp.Compare(metric(&b), metric(&a)))
	})
	var front []store.Candidate
	for _, c := range s {
		if len(front) == 0 || metric(&c) > metric(&front[len(front)-1]) {
			front = append(front, c)
		}
	}
	return front
}
