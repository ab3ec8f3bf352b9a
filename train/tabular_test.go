package train

import (
	"context"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train/testenv"
)

// loadTestTable loads the generated NAS-Bench-201 table under testdata/
// (train/traintest writes it; this package's tests cannot import that).
func loadTestTable(tb testing.TB) *NB201Table {
	tb.Helper()
	t, err := LoadNB201Table(testenv.NB201Table(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestLoadNB201Table(t *testing.T) {
	tab := loadTestTable(t)
	if tab.Len() != 15625 {
		t.Fatalf("rows = %d, want 15625", tab.Len())
	}
	for i := 0; i < tab.Len(); i++ {
		if r := tab.Row(i); r.Index != i {
			t.Fatalf("row %d has index %d", i, r.Index)
		}
	}
	// Facts stated in testdata/nasbench201/README.md: the loader read the
	// compressed file whole and right.
	best10 := tab.Best(func(r NB201Row) float64 { return r.C10Test200 })
	best100 := tab.Best(func(r NB201Row) float64 { return r.C100Test200 })
	if got := round2(best10.C10Test200); got != 94.59 {
		t.Errorf("best CIFAR-10 test200 = %.2f, want 94.59", got)
	}
	if got := round2(best100.C100Test200); got != 73.78 {
		t.Errorf("best CIFAR-100 test200 = %.2f, want 73.78", got)
	}
	r1 := tab.Row(1)
	got, ok := tab.Lookup(r1.Arch)
	if !ok || got != r1 {
		t.Fatalf("Lookup(%q) = %+v, %v", r1.Arch, got, ok)
	}
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

func TestReadNB201TableErrors(t *testing.T) {
	const head = "index,arch,c10_val12,c10_test12,c100_val12,c100_test12,c10_test200,c100_test200\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "header"},
		{"missing column", "index,arch,c10_val12\n", `lacks column "c10_test12"`},
		{"no rows", head, "no rows"},
		{"bad float", head + "0,|a~0|,x,1,1,1,1,1\n", "line 2: column c10_val12"},
		{"bad index", head + "z,|a~0|,1,1,1,1,1,1\n", "line 2: column index"},
		{"duplicate", head + "0,|a~0|,1,1,1,1,1,1\n1,|a~0|,1,1,1,1,1,1\n", "appears twice"},
		{"short row", head + "0,|a~0|,1\n", "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNB201Table(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := LoadNB201Table("/nonexistent/nb201.csv"); err == nil || !strings.Contains(err.Error(), "nb201-cifar.csv") {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestTabularEvaluate(t *testing.T) {
	tab := loadTestTable(t)
	row := tab.Row(1)
	tests := []struct {
		name      string
		dataset   string
		arch      string
		status    Status
		val, test float64
		errPart   string
	}{
		{"cifar10 signal is val12", "cifar10", row.Arch, StatusOK, row.C10Val12, row.C10Test200, ""},
		{"cifar100 signal is val12", "cifar100", row.Arch, StatusOK, row.C100Val12, row.C100Test200, ""},
		{"no arch", "cifar10", "", StatusBuildError, 0, 0, "outside the NAS-Bench-201 space"},
		{"unknown arch", "cifar10", "|conv~0|", StatusBuildError, 0, 0, "outside the space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := NewTabular(tab, tc.dataset)
			if err != nil {
				t.Fatal(err)
			}
			defer ev.Close()
			calls := 0
			res, err := ev.Evaluate(context.Background(), Job{ID: "c1", Arch: tc.arch}, func(Progress) { calls++ })
			if err != nil {
				t.Fatal(err)
			}
			if res.ID != "c1" || res.Status != tc.status || res.ValAcc != tc.val || res.TestAcc != tc.test {
				t.Fatalf("got %+v, want status %s val %v test %v", res, tc.status, tc.val, tc.test)
			}
			if !strings.Contains(res.Error, tc.errPart) {
				t.Fatalf("error %q lacks %q", res.Error, tc.errPart)
			}
			if tc.status == StatusOK && calls != 1 {
				t.Fatalf("progress called %d times", calls)
			}
			if r, ok := ev.RowOf(res); ok != (tc.status == StatusOK) || (ok && r != row) {
				t.Fatalf("RowOf = %+v, %v", r, ok)
			}
		})
	}
	ev, _ := NewTabular(tab, "cifar10")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := ev.Evaluate(ctx, Job{ID: "c2", Arch: row.Arch}, nil)
	if err != nil || res.Status != StatusCancelled {
		t.Fatalf("cancelled ctx: %+v, %v", res, err)
	}
	if _, err := NewTabular(tab, "imagenet"); err == nil {
		t.Fatal("unknown dataset accepted")
	}
	if _, err := NewTabular(nil, "cifar10"); err == nil {
		t.Fatal("nil table accepted")
	}
}

func TestTabularConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  TabularConfig
		want string
	}{
		{TabularConfig{Table: "x.csv", Dataset: "cifar10"}, ""},
		{TabularConfig{Dataset: "cifar10"}, "train.tabular.table"},
		{TabularConfig{Table: "x.csv", Dataset: "mnist"}, "train.tabular.dataset"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// BenchmarkLoadNB201Table measures parsing all 15,625 rows once: the
// compressed generated table, and the real plain CSV when
// $ARBOR_NB201_TABLE names it.
func BenchmarkLoadNB201Table(b *testing.B) {
	path := testenv.NB201Table(b)
	if real, err := testenv.Find(testenv.NB201Real); err == nil {
		path = real
	}
	b.Logf("table %s", path)
	for b.Loop() {
		if _, err := LoadNB201Table(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTabularEvaluate is the cost of one query.
func BenchmarkTabularEvaluate(b *testing.B) {
	tab := loadTestTable(b)
	ev, _ := NewTabular(tab, "cifar10")
	job := Job{ID: "x", Arch: tab.Row(7).Arch}
	ctx := context.Background()
	for b.Loop() {
		if _, err := ev.Evaluate(ctx, job, nil); err != nil {
			b.Fatal(err)
		}
	}
}
