package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite generated files and goldens")
	}
}

func benchUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestBenchReportGolden pins the printed table and timing breakdown for a
// fixed set of results (go test -run BenchReportGolden -update rewrites it).
func TestBenchReportGolden(t *testing.T) {
	table, err := train.ReadNB201Table(bytes.NewBufferString("index,arch,c10_val12,c10_test12,c100_val12,c100_test12,c10_test200,c100_test200\n" +
		"0,|a~0|,80,80,50,50,94.37,73.51\n1,|b~0|,70,70,40,40,90,60\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Dataset: "cifar10", Budgets: []int{2, 3}, Seeds: 2, Strategies: []string{"random", "thompson+surrogate"}, Workers: 2, Init: 1, Population: 1, SurrogateInit: 1}
	var results []Result
	for i, s := range o.Strategies {
		for _, b := range o.Budgets {
			for seed := 0; seed < 2; seed++ {
				fin := 90 + float64(i) + float64(b)/10 + float64(seed)/4
				results = append(results, Result{Run: Run{s, b, seed}, Dataset: "cifar10", Queries: b,
					BestArch: "|a~0|", BestSignal: 80, FinalTest: fin, Curve: []float64{90, fin, fin}[:b],
					Wall: time.Duration(b) * time.Second, Screen: time.Duration(i) * time.Second, Arch: 10 * time.Millisecond,
					Lookup: time.Millisecond, Rejected: seed, Exhausted: seed == 1 && i == 1})
			}
		}
	}
	rep := NewReport(o, table, results, 5*time.Millisecond, 3*time.Second)
	var out bytes.Buffer
	rep.Print(&out)
	golden := filepath.Join("testdata", "report.golden")
	if benchUpdating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("report differs from %s:\n--- got\n%s\n--- want\n%s", golden, out.Bytes(), want)
	}
	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	curves := readCSV(t, filepath.Join(dir, "curves.csv"))
	// budget 3, 2 strategies x 3 queries; query 2 of random is mean(90.3+0, 90.3+0.25).
	if len(curves) != 1+2*3 || curves[2][3] != "90.4250" {
		t.Errorf("curves.csv = %v", curves)
	}
}
