package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/traintest"
)

func httpGet(t *testing.T, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestToken: with a token, every path answers 401 without it, and works
// with it in the header or in the cookie that the first visit with
// ?token= sets; that visit redirects to the address without the token.
func TestToken(t *testing.T) {
	_, table := traintest.NB201(t)
	root := t.TempDir()
	runSearch(t, table, search{Dir: filepath.Join(root, "r"), Budget: 5})
	const token = "s3cret-s3cret-s3cret"
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}, Token: token, Addr: "127.0.0.1:8765"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	paths := []string{"/", "/static/app.js", "/api/runs", "/api/run/overview?run=" + filepath.Base(root) + "/r", "/api/events", "/api/bench?name=x"}
	for _, p := range paths {
		for _, bad := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Cookie": "arbor_token_8765=wrong"},
			{"Cookie": "arbor_token_8765=" + token}, {"Cookie": "arbor_token=" + token}} {
			if code, _ := httpGet(t, hs.URL+p, bad); code != http.StatusUnauthorized {
				t.Errorf("GET %s with %v: %d, want 401", p, bad, code)
			}
		}
	}
	for _, u := range []string{"/?token=wrong", "/api/runs?token=" + token} {
		if code, _ := httpGet(t, hs.URL+u, nil); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401 (?token= is taken on the page's first visit only)", u, code)
		}
	}
	if code, body := httpGet(t, hs.URL+"/api/runs", map[string]string{"Authorization": "Bearer " + token}); code != 200 || !strings.Contains(body, `"trained":5`) {
		t.Errorf("with the bearer token: %d %.200s", code, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(hs.URL + "/?token=" + token + "&run=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "arbor_token_8765" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?run=x" {
		t.Errorf("first visit: %d to %q, want 303 to /?run=x", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || strings.Contains(cookie.Value, token) {
		t.Fatalf("first visit's cookie %+v: want arbor_token_8765, HttpOnly, SameSite=Strict, Path=/, not the token itself", cookie)
	}
	if code, _ := httpGet(t, hs.URL+"/static/app.js", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}); code != 200 {
		t.Errorf("with the cookie: %d", code)
	}
	if code, _ := httpGet(t, hs.URL+"/api/runs", map[string]string{"Authorization": "Bearer " + cookie.Value}); code != http.StatusUnauthorized {
		t.Errorf("the cookie's value used as a bearer token: %d, want 401", code)
	}
}

func TestCheckAddr(t *testing.T) {
	long := "0123456789abcdef"
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8765", "", true}, {"localhost:0", "", true}, {"[::1]:8765", "", true},
		{"0.0.0.0:8765", "", false}, {":8765", "", false}, {"192.168.1.5:80", "", false},
		{"0.0.0.0:8765", long, true}, {"0.0.0.0:8765", "a", false}, {"0.0.0.0:8765", " ", false},
		{"0.0.0.0:8765", long[:15], false}, {"0.0.0.0:8765", long + " x", false}, {"nonsense", "", false},
	} {
		if err := CheckAddr(c.addr, c.token); (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %q) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
	}
}

// TestHostCheck: without a token only loopback names and the bound
// address pass, with or without a port (a browser leaves out :80).
func TestHostCheck(t *testing.T) {
	for _, bound := range []string{"127.0.0.1:80", "10.1.2.3:8765"} {
		srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{t.TempDir()}, Addr: bound})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		h := srv.Handler()
		boundHost, _, _ := strings.Cut(bound, ":")
		for host, want := range map[string]int{
			"evil.com": 403, "evil.com:80": 403, "evil.com:8765": 403, "127.0.0.1.evil.com": 403, "": 403,
			"localhost": 200, "localhost:80": 200, "127.0.0.1": 200, "127.0.0.1:80": 200, "[::1]:80": 200, "[::1]": 200,
			boundHost: 200, boundHost + ":8765": 200,
		} {
			req := httptest.NewRequest(http.MethodGet, "/api/runs", nil)
			req.Host = host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("bound %s, Host %q: %d, want %d", bound, host, rec.Code, want)
			}
		}
	}
}

// TestDeletedRunLeaves: a run directory removed while served leaves the
// list at the next scan, and its store is closed.
func TestDeletedRunLeaves(t *testing.T) {
	_, table := traintest.NB201(t)
	root := t.TempDir()
	runSearch(t, table, search{Dir: filepath.Join(root, "a"), Budget: 3})
	runSearch(t, table, search{Dir: filepath.Join(root, "b"), Budget: 3})
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone, _ := srv.run(filepath.Base(root) + "/a")
	if gone == nil || len(srv.allRuns()) != 2 {
		t.Fatalf("want runs a and b served, got %d", len(srv.allRuns()))
	}
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	srv.rescan()
	if runs := srv.allRuns(); len(runs) != 1 || !strings.HasSuffix(runs[0].name, "/b") {
		t.Errorf("after deleting a: %d runs served", len(runs))
	}
	gone.mu.Lock()
	open := gone.store != nil
	gone.mu.Unlock()
	if open {
		t.Error("the deleted run's store is still open")
	}
	if _, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}, Poll: time.Nanosecond}); err == nil {
		t.Error("--poll 1ns accepted")
	}
}

// TestReadOnlyAndHeaders: nothing but GET and HEAD; the page forbids
// inline scripts; a loopback server refuses other Host names.
func TestReadOnlyAndHeaders(t *testing.T) {
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, hs.URL+"/api/runs", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, resp.StatusCode)
		}
	}
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/runs", nil)
	req.Host = "evil.example:80"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %v %v, want 403", err, resp.StatusCode)
	}
}

// TestBadDirs: a missing or non-directory argument is named.
func TestBadDirs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "run.db")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, dirs := range [][]string{nil, {"/nonexistent/run"}, {f}} {
		_, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: dirs})
		if err == nil {
			t.Errorf("New(%v): no error", dirs)
			continue
		}
		if len(dirs) > 0 && !strings.Contains(err.Error(), dirs[0]) {
			t.Errorf("New(%v): %v does not name the argument", dirs, err)
		}
	}
}

// TestViewsAgreeWithStore: the page's numbers are the store's own (what
// `arbor status` prints), the replayed posteriors end at the saved
// planner state, and a new run in the parent directory is picked up.
func TestViewsAgreeWithStore(t *testing.T) {
	_, table := traintest.NB201(t)
	root := t.TempDir()
	dir := runSearch(t, table, search{Dir: filepath.Join(root, "a"), Budget: 30, Workers: 2})
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	name := filepath.Base(root) + "/a"
	var ov overview
	_, body := httpGet(t, hs.URL+"/api/run/overview?run="+name, nil)
	if err := json.Unmarshal([]byte(body), &ov); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	s, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := s.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ov.Trained != sum.Trained || ov.Candidates != sum.Candidates || ov.Best == nil || ov.Best.ID != sum.Best.ID || ov.State != "finished" {
		t.Errorf("overview %+v disagrees with the store's summary %+v", ov, sum)
	}
	var ch chartsView
	_, body = httpGet(t, hs.URL+"/api/run/charts?run="+name, nil)
	json.Unmarshal([]byte(body), &ch)
	if !ch.PosteriorExact || len(ch.OpPosterior) == 0 {
		t.Errorf("posterior replay exact=%v, %d series", ch.PosteriorExact, len(ch.OpPosterior))
	}
	if n := len(ch.BestByCandidate); n != sum.Trained {
		t.Errorf("best-so-far has %d points, want one per trained candidate (%d)", n, sum.Trained)
	}
	var rows rowsView
	_, body = httpGet(t, hs.URL+"/api/run/candidates?run="+name, nil)
	json.Unmarshal([]byte(body), &rows)
	if len(rows.Rows) != sum.Candidates {
		t.Errorf("table has %d rows, want %d", len(rows.Rows), sum.Candidates)
	}
	if code, _ := httpGet(t, hs.URL+"/api/run/candidate?run="+name+"&id=nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown candidate: %d, want 404", code)
	}
	if code, _ := httpGet(t, hs.URL+"/api/run/overview?run=nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", code)
	}

	// A second run appears in the parent directory.
	runSearch(t, table, search{Dir: filepath.Join(root, "b"), Budget: 3})
	srv.rescan()
	_, body = httpGet(t, hs.URL+"/api/runs", nil)
	if !strings.Contains(body, `"name":"`+filepath.Base(root)+`/b"`) {
		t.Errorf("the new run was not picked up: %.300s", body)
	}
}

// TestBenchDir: an `arbor bench` output directory is shown, and a broken
// curves.csv is an error naming the file and line.
func TestBenchDir(t *testing.T) {
	dir := t.TempDir()
	writeBenchDir(t, dir)
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	code, body := httpGet(t, hs.URL+"/api/bench?name="+filepath.Base(dir), nil)
	var v benchView
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	if len(v.Curves) != 2 || len(v.Curves[0].Points) != 3 || len(v.Runs.Rows) != 2 || v.Summary == "" {
		t.Errorf("bench view %+v", v)
	}
	os.WriteFile(filepath.Join(dir, "curves.csv"), []byte("strategy,budget,queries,mean_final_test,std_final_test\nrandom,3,x,88.0,1.0\n"), 0o644)
	if code, body := httpGet(t, hs.URL+"/api/bench?name="+filepath.Base(dir), nil); code != 500 || !strings.Contains(body, "curves.csv line 2") {
		t.Errorf("broken curves.csv: %d %s", code, body)
	}
}

// writeBenchDir writes the files `arbor bench` writes (in its format) for
// two strategies.
func writeBenchDir(t testing.TB, dir string) {
	t.Helper()
	files := map[string]string{
		"runs.csv": "strategy,budget,seed,dataset,queries,best_arch,best_signal,final_test\n" +
			"random,3,0,cifar10,3,|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|,80.1000,90.2000\n" +
			"thompson,3,0,cifar10,3,|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|,81.3000,91.0000\n",
		"curves.csv": "strategy,budget,queries,mean_final_test,std_final_test\n" +
			"random,3,1,88.0000,1.0000\nrandom,3,2,89.0000,0.5000\nrandom,3,3,90.2000,0.4000\n" +
			"thompson,3,1,88.0000,1.0000\nthompson,3,2,90.0000,0.5000\nthompson,3,3,91.0000,0.3000\n",
		"summary.txt": "NAS-Bench-201 cifar10: final 200-epoch test accuracy ...\n",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
