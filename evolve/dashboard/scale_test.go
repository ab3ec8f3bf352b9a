package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

// BenchmarkFirstPaint2000 measures the time from navigation to the run
// page, in headless Chromium, until the overview cards and the candidates
// table are drawn (the page marks that moment), for a real run of 2,000
// candidates. cold: a new server that reads the store for this visit;
// warm: the server has the run loaded (as it has while it watches it).
func BenchmarkFirstPaint2000(b *testing.B) {
	_, table := traintest.BenchNB201(b)
	root := b.TempDir()
	dir := largeRun(b, table, filepath.Join(root, "big"), 2000)
	s, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		b.Fatal(err)
	}
	sum, _ := s.Summary(context.Background())
	s.Close()
	b.Logf("run: %d candidates, %d trained, %v rejected by gate", sum.Candidates, sum.Trained, sum.RejectedByReason)
	br := newBrowser(b)
	name := url.PathEscape(filepath.Base(root) + "/big")
	// paint returns the time from navigation to the drawn page, and to the
	// moment its data had arrived, in ms (the page's own marks).
	paint := func(b *testing.B, base string) (float64, float64) {
		b.Helper()
		br.do(b, "blank", chromedp.Navigate("about:blank"))
		br.do(b, "open the run", chromedp.Navigate(base+"/#/run/"+name),
			chromedp.WaitVisible(chromedp.CSS(`#candidates tbody tr.cand-row`)))
		ms := get(b, br, "first paint", chromedp.Evaluate[string](`document.body.dataset.firstPaint + " " + document.body.dataset.dataLoaded`))
		var paint, data float64
		if _, err := fmt.Sscan(ms, &paint, &data); err != nil {
			b.Fatalf("%q: %v", ms, err)
		}
		return paint, data
	}
	// One untimed visit first: Chromium's own first start is not the page's.
	{
		srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		paint(b, hs.URL)
		br.do(b, "blank", chromedp.Navigate("about:blank"))
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	}
	for _, warm := range []bool{false, true} {
		mode := "cold"
		if warm {
			mode = "warm"
		}
		b.Run(mode, func(b *testing.B) {
			var total, data float64
			for i := 0; i < b.N; i++ {
				srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
				if err != nil {
					b.Fatal(err)
				}
				hs := httptest.NewServer(srv.Handler())
				if warm {
					paint(b, hs.URL)
				}
				p, d := paint(b, hs.URL)
				total += p
				data += d
				// Leave the page before its server goes, or the live stream breaks.
				br.do(b, "blank", chromedp.Navigate("about:blank"))
				hs.CloseClientConnections()
				hs.Close()
				srv.Close()
			}
			b.ReportMetric(total/float64(b.N), "ms-first-paint")
			b.ReportMetric(data/float64(b.N), "ms-data-loaded")
		})
	}
	br.clean(b)
}

// BenchmarkLiveOverhead runs the same real search (tabular evaluator, not
// paced: the worst case, a search that never waits for training) without
// and with the dashboard watching it and a live client that refetches the
// overview, the table and the charts on every change notice (at most once
// a second, as the page does). Each iteration runs both, alternating which
// goes first. It reports the median over iterations of the wall-time
// overhead and of the CPU-time overhead (this process's user+system time,
// which counts the dashboard's work and not other processes' load).
//
// unpaced: a 300-candidate search that never waits (the worst case);
// paced: each job takes 100 ms, still far shorter than real training.
func BenchmarkLiveOverhead(b *testing.B) {
	_, table := traintest.BenchNB201(b)
	b.Run("unpaced", func(b *testing.B) { liveOverhead(b, table, 300, 0, "") })
	b.Run("paced", func(b *testing.B) { liveOverhead(b, table, 150, 100*time.Millisecond, "") })
	// As in use: `arbor serve` is its own process, so its work and garbage
	// collection do not share the search's process. The CPU figure is then
	// the search's own; the server's CPU is reported apart.
	bin := filepath.Join(b.TempDir(), "arbor")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/arbor-nas/arbor/cmd/arbor").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	b.Run("unpaced-process", func(b *testing.B) { liveOverhead(b, table, 300, 0, bin) })
	b.Run("paced-process", func(b *testing.B) { liveOverhead(b, table, 150, 100*time.Millisecond, bin) })
}

// serveProcess starts `arbor serve root` and returns its URL.
func serveProcess(b *testing.B, bin, root string) (*exec.Cmd, string) {
	cmd := exec.Command(bin, "serve", root, "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("arbor serve: %v", err)
	}
	f := strings.Fields(line) // arbor serve: URL (Ctrl-C to stop)
	if len(f) < 3 {
		b.Fatalf("arbor serve printed %q", line)
	}
	return cmd, strings.TrimSuffix(f[2], "/")
}

func liveOverhead(b *testing.B, table *train.NB201Table, budget int, pace time.Duration, bin string) {
	var busy, servedWall time.Duration
	one := func(watch bool) (wall, cpu time.Duration) {
		root := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cpu0 := cpuTime(b)
		start := time.Now()
		if watch && bin != "" {
			cmd, base := serveProcess(b, bin, root)
			defer func() {
				cmd.Process.Signal(syscall.SIGINT)
				cmd.Wait()
				busy += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}()
			go liveClient(ctx, base, filepath.Base(root)+"/r")
		} else if watch {
			srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}, Scan: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				busy += srv.Busy()
				srv.Close()
			}()
			go srv.Watch(ctx)
			hs := httptest.NewServer(srv.Handler())
			defer func() { hs.CloseClientConnections(); hs.Close() }()
			go liveClient(ctx, hs.URL, filepath.Base(root)+"/r")
		}
		e, db := search{Dir: filepath.Join(root, "r"), Budget: budget, Workers: 2, Seed: 4, ParentsK: 25, Pace: pace}.engine(b, table)
		defer db.Close()
		if err := e.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), cpuTime(b) - cpu0
	}
	var wallPct, cpuPct []float64
	var baseWall time.Duration
	for i := 0; i < b.N; i++ {
		var bw, bc, sw, sc time.Duration
		if i%2 == 0 {
			bw, bc = one(false)
			sw, sc = one(true)
		} else {
			sw, sc = one(true)
			bw, bc = one(false)
		}
		baseWall += bw
		servedWall += sw
		wallPct = append(wallPct, 100*(sw.Seconds()-bw.Seconds())/bw.Seconds())
		cpuPct = append(cpuPct, 100*(sc.Seconds()-bc.Seconds())/bc.Seconds())
	}
	b.ReportMetric(baseWall.Seconds()/float64(b.N), "s-baseline")
	b.ReportMetric(servedWall.Seconds()/float64(b.N), "s-served")
	b.ReportMetric(median(wallPct), "%-wall-overhead")
	b.ReportMetric(median(cpuPct), "%-cpu-overhead")
	// The dashboard's own work over the search's wall time: in process,
	// the time it spent refreshing and answering; as a process, its CPU time.
	b.ReportMetric(100*busy.Seconds()/servedWall.Seconds(), "%-dashboard-busy")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// cpuTime is this process's user plus system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveClient does what the run page does: it listens to the change
// notices and, at most once a second, fetches the overview, the table,
// the charts and the importance table of the run.
func liveClient(ctx context.Context, base, run string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	notices := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), run) {
				select {
				case notices <- struct{}{}:
				default:
				}
			}
		}
	}()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-notices:
		}
		if wait := time.Second - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		for _, view := range []string{"overview", "candidates", "charts", "importance"} {
			r, err := http.Get(base + "/api/run/" + view + "?run=" + url.QueryEscape(run))
			if err != nil {
				return
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	}
}

// BenchmarkColdLoad2000 is the server's share of a cold first paint: read
// a 2,000-candidate run store and build the overview, table and charts.
func BenchmarkColdLoad2000(b *testing.B) {
	_, table := traintest.BenchNB201(b)
	dir := largeRun(b, table, filepath.Join(b.TempDir(), "big"), 2000)
	ctx := context.Background()
	var read, views time.Duration
	for i := 0; i < b.N; i++ {
		r := newRunSource("big", dir, run.Settings)
		t0 := time.Now()
		if _, err := r.refresh(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, v := range []string{"overview", "candidates", "charts", "importance"} {
			if _, err := r.view(v, func() (any, error) {
				switch v {
				case "overview":
					return r.overviewView(time.Now()), nil
				case "candidates":
					return r.rowsView(), nil
				case "importance":
					return r.importanceView(), nil
				}
				return r.chartsView(), nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		read += t1.Sub(t0)
		views += time.Since(t1)
		r.close()
	}
	b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "ms-read")
	b.ReportMetric(float64(views.Milliseconds())/float64(b.N), "ms-views")
}
