package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestBenchEndToEnd runs every strategy through the engine on the real
// table at small budgets and checks each runs.csv row against the table:
// the reported test accuracy is the 200-epoch column of the reported
// arch, and its signal the 12-epoch validation column. It runs twice, on
// one and two workers, and the results must be identical.
func TestBenchEndToEnd(t *testing.T) {
	tablePath, table := traintest.NB201(t)
	var outs [2]string
	for i, workers := range []int{1, 2} {
		dir := t.TempDir()
		o := DefaultOptions()
		o.Table, o.Dataset, o.Budgets, o.Seeds, o.Workers = tablePath, "cifar100", []int{12, 24}, 3, workers
		o.Init, o.Population, o.Sample, o.K, o.SurrogateInit, o.SurrogateParentsK = 5, 6, 2, 6, 8, 4
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		rep, err := Bench(context.Background(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.Write(dir); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		rep.Print(&b)
		out := b.String()
		for _, want := range []string{"NAS-Bench-201 cifar100", "12 queries", "24 queries", "thompson+surrogate", "engine = options"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		rows := readCSV(t, filepath.Join(dir, "runs.csv"))
		if got := strings.Join(rows[0], ","); got != "strategy,budget,seed,dataset,queries,best_arch,best_signal,final_test" {
			t.Fatalf("header %s", got)
		}
		if len(rows) != 1+4*2*3 {
			t.Fatalf("%d rows, want %d", len(rows)-1, 4*2*3)
		}
		for _, r := range rows[1:] {
			row, ok := table.Lookup(r[5])
			if !ok {
				t.Fatalf("best_arch %q not in the table", r[5])
			}
			sig, _ := strconv.ParseFloat(r[6], 64)
			fin, _ := strconv.ParseFloat(r[7], 64)
			if r[1] != r[4] || r[3] != "cifar100" || sig != round4(row.C100Val12) || fin != round4(row.C100Test200) {
				t.Errorf("row %v disagrees with the table (val12 %.4f, test200 %.4f)", r, row.C100Val12, row.C100Test200)
			}
		}
		curves := readCSV(t, filepath.Join(dir, "curves.csv"))
		if len(curves) != 1+4*24 {
			t.Errorf("curves.csv has %d rows, want %d", len(curves)-1, 4*24)
		}
		png, err := os.ReadFile(filepath.Join(dir, "curves.png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("curves.png: %v", err)
		}
		runs, _ := os.ReadFile(filepath.Join(dir, "runs.csv"))
		outs[i] = string(runs)
	}
	if outs[0] != outs[1] {
		t.Errorf("runs.csv differs between 1 and 2 workers:\n%s\n---\n%s", outs[0], outs[1])
	}
}

func round4(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 4, 64), 64)
	return v
}

// BenchmarkBenchRun is the cost of one 100-query run per strategy through
// the engine with its SQLite store; random is the baseline the others are
// compared against in the same run (ms/query and ratio).
func BenchmarkBenchRun(b *testing.B) {
	tablePath, table := traintest.BenchNB201(b)
	ev, err := train.NewTabular(table, "cifar10")
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Table: tablePath, Dataset: "cifar10", Budgets: []int{100}, Seeds: 1, Strategies: Strategies(),
		Workers: 1, Init: 10, Population: 20, Sample: 5, K: 32, Acquisition: "ucb", SurrogateInit: 10}
	if err := o.Validate(); err != nil {
		b.Fatal(err)
	}
	var base float64
	for _, s := range Strategies() {
		b.Run(s, func(b *testing.B) {
			seed := 0
			for b.Loop() {
				r := RunOne(context.Background(), o, ev, Run{Strategy: s, Budget: 100, Seed: seed})
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				seed++
			}
			msq := float64(b.Elapsed().Milliseconds()) / float64(b.N) / 100
			b.ReportMetric(msq, "ms/query")
			if s == evolve.StrategyRandom {
				base = msq
			} else if base > 0 {
				b.ReportMetric(msq/base, "x-random")
			}
		})
	}
}
