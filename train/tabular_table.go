package train

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// NB201Row is one architecture of the NAS-Bench-201 table. Accuracies are
// percentages.
type NB201Row struct {
	Index       int
	Arch        string
	C10Val12    float64
	C10Test12   float64
	C100Val12   float64
	C100Test12  float64
	C10Test200  float64
	C100Test200 float64
}

// Signal is the search signal for dataset: the 12-epoch validation accuracy.
func (r NB201Row) Signal(dataset string) float64 {
	if dataset == "cifar100" {
		return r.C100Val12
	}
	return r.C10Val12
}

// FinalTest is the 200-epoch test accuracy for dataset, for reports only.
func (r NB201Row) FinalTest(dataset string) float64 {
	if dataset == "cifar100" {
		return r.C100Test200
	}
	return r.C10Test200
}

// NB201Table is the whole NAS-Bench-201 table, indexed by arch string. It is
// immutable after loading, so one table can serve many concurrent runs.
type NB201Table struct {
	path   string
	rows   []NB201Row
	byArch map[string]int
}

// nb201Columns are the header names the loader requires; extra columns are
// ignored so a richer export still loads.
var nb201Columns = []string{"index", "arch", "c10_val12", "c10_test12", "c100_val12", "c100_test12", "c10_test200", "c100_test200"}

// LoadNB201Table reads the CSV described in shared/data/nasbench201/README.md.
func LoadNB201Table(path string) (*NB201Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nasbench201 table: %w (pass the path of nb201-cifar.csv)", err)
	}
	defer f.Close()
	t, err := ReadNB201Table(f)
	if err != nil {
		return nil, fmt.Errorf("nasbench201 table %s: %w", path, err)
	}
	t.path = path
	return t, nil
}

// ReadNB201Table parses the table from r, plain or gzip-compressed (the
// generated table under testdata/ is committed compressed).
func ReadNB201Table(r io.Reader) (*NB201Table, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	idx := make([]int, len(nb201Columns))
	for i, name := range nb201Columns {
		j, ok := col[name]
		if !ok {
			return nil, fmt.Errorf("header lacks column %q (need %v)", name, nb201Columns)
		}
		idx[i] = j
	}
	t := &NB201Table{rows: make([]NB201Row, 0, 15625), byArch: make(map[string]int, 15625)}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		var row NB201Row
		if row.Index, err = strconv.Atoi(rec[idx[0]]); err != nil {
			return nil, fmt.Errorf("line %d: column index: %w", line, err)
		}
		row.Arch = rec[idx[1]]
		fields := []*float64{&row.C10Val12, &row.C10Test12, &row.C100Val12, &row.C100Test12, &row.C10Test200, &row.C100Test200}
		for k, p := range fields {
			if *p, err = strconv.ParseFloat(rec[idx[k+2]], 64); err != nil {
				return nil, fmt.Errorf("line %d: column %s: %w", line, nb201Columns[k+2], err)
			}
		}
		if _, dup := t.byArch[row.Arch]; dup {
			return nil, fmt.Errorf("line %d: arch %q appears twice", line, row.Arch)
		}
		t.byArch[row.Arch] = len(t.rows)
		t.rows = append(t.rows, row)
	}
	if len(t.rows) == 0 {
		return nil, errors.New("no rows")
	}
	return t, nil
}

// Path is the file the table was loaded from ("" when read from a stream).
func (t *NB201Table) Path() string { return t.path }

// Len is the number of architectures.
func (t *NB201Table) Len() int { return len(t.rows) }

// Row returns the i-th row in file order.
func (t *NB201Table) Row(i int) NB201Row { return t.rows[i] }

// Lookup finds an architecture by its cell string.
func (t *NB201Table) Lookup(arch string) (NB201Row, bool) {
	i, ok := t.byArch[arch]
	if !ok {
		return NB201Row{}, false
	}
	return t.rows[i], true
}

// Best returns the row with the highest value of key over the whole table,
// the oracle that reports compare against.
func (t *NB201Table) Best(key func(NB201Row) float64) NB201Row {
	best := t.rows[0]
	for _, r := range t.rows[1:] {
		if key(r) > key(best) {
			best = r
		}
	}
	return best
}

// NB201TableEnv names the environment variable that overrides where tests,
// benchmarks and the CLI look for the table.
const NB201TableEnv = "ARBOR_NB201_TABLE"

// FindNB201Table returns $ARBOR_NB201_TABLE, or else
// ../shared/data/nasbench201/nb201-cifar.csv relative to the repository root
// found by walking up from the working directory to go.mod. ok is false when
// no such file exists.
func FindNB201Table() (path string, ok bool) {
	if p := os.Getenv(NB201TableEnv); p != "" {
		_, err := os.Stat(p)
		return p, err == nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "data", "nasbench201", "nb201-cifar.csv")
			_, err := os.Stat(p)
			return p, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
