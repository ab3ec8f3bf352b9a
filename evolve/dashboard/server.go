package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/tree"
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	// Dirs are run directories, `arbor bench` output directories, or
	// directories holding them (searched two levels deep, again on every
	// scan, so new runs appear).
	Dirs []string
	// Token, when set, must come with every request: header
	// "Authorization: Bearer T", cookie arbor_token, or query ?token=T.
	Token string
	// Poll is how often the stores are checked for changes (default 1s);
	// Scan how often Dirs are searched for new runs (default 5s).
	Poll, Scan time.Duration
	Log        *slog.Logger
}

// Server is the dashboard. Create it with New, serve Handler, and run
// Watch for live updates.
type Server struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	runs    map[string]*runSource // by name
	benches map[string]string     // name -> dir
	order   []found
	// catalogs are the module catalogs of the runs, loaded on first use.
	catalogs map[string]tree.Catalog

	hub hub

	busyMu sync.Mutex
	busy   time.Duration // time spent refreshing and answering requests (not streaming)
}

func (s *Server) addBusy(d time.Duration) {
	s.busyMu.Lock()
	s.busy += d
	s.busyMu.Unlock()
}

// Busy is the time the server has spent refreshing runs and answering
// requests (the open live streams excluded): its share of the machine.
func (s *Server) Busy() time.Duration {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	return s.busy
}

// New checks the directories and returns a server for them.
func New(opts Options) (*Server, error) {
	if err := checkRoots(opts.Dirs); err != nil {
		return nil, err
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Scan <= 0 {
		opts.Scan = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Log, runs: map[string]*runSource{}, benches: map[string]string{}, catalogs: map[string]tree.Catalog{}, hub: newHub()}
	s.rescan()
	return s, nil
}

// CheckAddr enforces the binding rule: an address other than loopback
// needs a token, since anyone who can reach it could read the runs.
func CheckAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8765: %w", addr, err)
	}
	if isLoopback(host) || token != "" {
		return nil
	}
	return fmt.Errorf("--addr %s is not a loopback address: give --token T as well (every request must then carry it), or bind to 127.0.0.1", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// rescan looks for new runs and bench directories under the roots.
func (s *Server) rescan() {
	fs := discover(s.opts.Dirs)
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for _, f := range fs {
		switch f.kind {
		case kindRun:
			if _, ok := s.runs[f.name]; !ok {
				s.runs[f.name] = newRunSource(f.name, f.dir)
				added = true
			}
		case kindBench:
			if _, ok := s.benches[f.name]; !ok {
				s.benches[f.name] = f.dir
				added = true
			}
		}
	}
	s.order = fs
	if added {
		s.hub.publish(`{"runs":true}`)
	}
}

func (s *Server) run(name string) (*runSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[name]
	return r, ok
}

func (s *Server) allRuns() []*runSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*runSource
	for _, f := range s.order {
		if r, ok := s.runs[f.name]; ok && f.kind == kindRun {
			out = append(out, r)
		}
	}
	return out
}

// Refresh reads every run's changes once and tells live clients; Watch
// calls it on every poll. It returns the first error, after trying all.
func (s *Server) Refresh(ctx context.Context) error {
	var first error
	now := time.Now()
	defer func() { s.addBusy(time.Since(now)) }()
	for _, r := range s.allRuns() {
		if !r.due(now) {
			continue
		}
		changed, err := r.refresh(ctx)
		if err != nil && first == nil {
			first = err
		}
		if changed {
			r.mu.Lock()
			v := r.version
			r.mu.Unlock()
			s.hub.publish(fmt.Sprintf(`{"run":%q,"version":%d}`, r.name, v))
		}
	}
	return first
}

// Watch polls the stores and rescans the directories until ctx is done.
// Polling is cheap when nothing changed: one indexed query per run. A run
// whose refresh is costly (thousands of candidates) is refreshed less
// often, so the dashboard takes about 1% of a core per run at most.
func (s *Server) Watch(ctx context.Context) {
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	scan := time.NewTicker(s.opts.Scan)
	defer scan.Stop()
	for {
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("dashboard refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-scan.C:
			s.rescan()
		case <-poll.C:
		}
	}
}

// Close closes the run stores.
func (s *Server) Close() error {
	for _, r := range s.allRuns() {
		r.close()
	}
	s.hub.close()
	return nil
}

// Handler serves the page, its assets and the JSON API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, "index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
	mux.HandleFunc("GET /api/runs", s.handleRuns)
	mux.HandleFunc("GET /api/run/{view}", s.handleRunView)
	mux.HandleFunc("GET /api/bench", s.handleBench)
	mux.HandleFunc("GET /api/compare", s.handleCompare)
	mux.HandleFunc("GET /api/download/{what}", s.handleDownload)
	mux.HandleFunc("GET /api/events", s.handleEvents)
	return s.guard(mux)
}

// guard enforces read-only methods, the token, and safe headers.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
			return
		}
		if s.opts.Token != "" {
			if !s.authorized(r) {
				http.Error(w, "401 unauthorized: this dashboard needs its token (open the URL `arbor serve` printed, with ?token=...)", http.StatusUnauthorized)
				return
			}
			if r.URL.Query().Get("token") != "" {
				// The page's own requests (scripts, styles) then carry it as a cookie.
				http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.opts.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			}
		} else if host, _, err := net.SplitHostPort(r.Host); err == nil && !isLoopback(host) {
			// Without a token the server is on loopback; a request naming
			// another host is a DNS-rebinding page in the user's browser.
			http.Error(w, "403 forbidden: host "+host+" is not loopback", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/api/events" {
			start := time.Now()
			defer func() { s.addBusy(time.Since(start)) }()
		}
		next.ServeHTTP(w, r)
	})
}

const tokenCookie = "arbor_token"

func (s *Server) authorized(r *http.Request) bool {
	var got string
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimPrefix(a, "Bearer ")
	} else if t := r.URL.Query().Get("token"); t != "" {
		got = t
	} else if c, err := r.Cookie(tokenCookie); err == nil {
		got = c.Value
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

// hub fans change notices out to the connected live clients.
type hub struct {
	mu   sync.Mutex
	subs map[chan string]bool
	done bool
}

func newHub() hub { return hub{subs: map[chan string]bool{}} }

func (h *hub) subscribe() (chan string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return nil, errors.New("server closed")
	}
	c := make(chan string, 16)
	h.subs[c] = true
	return c, nil
}

func (h *hub) unsubscribe(c chan string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[c] {
		delete(h.subs, c)
		close(c)
	}
}

// publish never blocks: a client too slow to take a notice misses it and
// catches up with the next one (each notice carries the latest version).
func (h *hub) publish(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- msg:
		default:
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	for c := range h.subs {
		delete(h.subs, c)
		close(c)
	}
}
