package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
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
	// "Authorization: Bearer T", or the cookie the page sets when it is
	// first opened with ?token=T (it then redirects to the URL without it).
	Token string
	// Addr is the address the server is bound to (HOST:PORT as the
	// listener reports it): its host is the one name besides loopback a
	// Host header may carry, and its port names the cookie.
	Addr string
	// Settings and Catalog read a run's stored configuration and its
	// module catalog (run.Settings and run.Catalog: only the run's assembly
	// can decode the configuration, and the dashboard needs no engine).
	// Both are required.
	Settings SettingsFunc
	Catalog  func(ctx context.Context, s *store.Store) (tree.Catalog, error)
	// Poll is how often the stores are checked for changes (default 1s);
	// Scan how often Dirs are searched for new runs (default 5s).
	Poll, Scan time.Duration
	Log        *slog.Logger
}

// SettingsFunc reads the settings of the run in s; ok is false when it
// has none.
type SettingsFunc func(ctx context.Context, s *store.Store) (set store.Settings, ok bool, err error)

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
	if opts.Settings == nil || opts.Catalog == nil {
		return nil, errors.New("dashboard: Options.Settings and Options.Catalog are required (run.Settings and run.Catalog read a run's configuration)")
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Poll < MinPoll {
		return nil, fmt.Errorf("--poll %v: must be at least %v (each poll queries every run's store)", opts.Poll, MinPoll)
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

// MinPoll is the shortest poll interval: below it a server busy-loops on
// the stores.
const MinPoll = 100 * time.Millisecond

// MinTokenLen is the shortest token a server on a public address takes.
const MinTokenLen = 16

// CheckAddr enforces the binding rule: an address other than loopback
// needs a token of at least MinTokenLen characters (no spaces), since
// anyone who can reach it could read the runs.
func CheckAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8765: %w", addr, err)
	}
	if strings.TrimSpace(token) != token || strings.ContainsAny(token, " \t\r\n;,") {
		return fmt.Errorf("the token must not hold spaces, commas or semicolons")
	}
	if IsLoopback(host) {
		return nil
	}
	if token == "" {
		return fmt.Errorf("--addr %s is not a loopback address: give a token (--token-file F or $%s; arbor serve generates one when neither is set), or bind to 127.0.0.1", addr, TokenEnv)
	}
	if len(token) < MinTokenLen {
		return fmt.Errorf("--addr %s is not a loopback address: the token must have at least %d characters, got %d (e.g. openssl rand -hex 16)", addr, MinTokenLen, len(token))
	}
	return nil
}

// TokenEnv is the environment variable arbor serve reads the token from.
const TokenEnv = "ARBOR_SERVE_TOKEN"

// hostAllowed reports whether a Host header (with or without a port)
// names loopback or the bound host itself: any other name is a
// DNS-rebinding page in the user's browser.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if IsLoopback(host) {
		return true
	}
	bound, _, err := net.SplitHostPort(s.opts.Addr)
	if err != nil || bound == "" {
		return false
	}
	ip := net.ParseIP(bound)
	if ip != nil && ip.IsUnspecified() {
		return false // 0.0.0.0 is no name a browser sends
	}
	return strings.EqualFold(host, strings.Trim(bound, "[]"))
}

// IsLoopback reports whether host (a name or an IP, brackets allowed) is
// loopback.
func IsLoopback(host string) bool {
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
	changed := false
	present := map[string]bool{}
	for _, f := range fs {
		present[f.kind+"/"+f.name] = true
		switch f.kind {
		case kindRun:
			if _, ok := s.runs[f.name]; !ok {
				s.runs[f.name] = newRunSource(f.name, f.dir, s.opts.Settings)
				changed = true
			}
		case kindBench:
			if _, ok := s.benches[f.name]; !ok {
				s.benches[f.name] = f.dir
				changed = true
			}
		}
	}
	// A run or bench directory deleted since the last scan leaves the
	// list, and its store is closed (no descriptors held on deleted files).
	var gone []*runSource
	for name, r := range s.runs {
		if !present[kindRun+"/"+name] {
			gone = append(gone, r)
			delete(s.runs, name)
			changed = true
		}
	}
	for name := range s.benches {
		if !present[kindBench+"/"+name] {
			delete(s.benches, name)
			changed = true
		}
	}
	s.order = fs
	s.mu.Unlock()
	for _, r := range gone {
		r.close()
	}
	if changed {
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
			if q := r.URL.Query(); q.Has("token") && r.URL.Path == "/" {
				if !s.tokenMatches(q.Get("token")) {
					http.Error(w, "401 unauthorized: wrong token", http.StatusUnauthorized)
					return
				}
				// First visit: the page's own requests carry a cookie from
				// now on, and the token leaves the address bar and history.
				http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.cookieValue(), Path: "/",
					HttpOnly: true, SameSite: http.SameSiteStrictMode})
				q.Del("token")
				u := *r.URL
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
				return
			}
			if !s.authorized(r) {
				http.Error(w, "401 unauthorized: this dashboard needs its token (open the URL `arbor serve` printed, with ?token=...)", http.StatusUnauthorized)
				return
			}
		} else if !s.hostAllowed(r.Host) {
			// Without a token the server is on loopback; a request naming
			// another host is a DNS-rebinding page in the user's browser.
			http.Error(w, "403 forbidden: host "+r.Host+" is neither loopback nor the address the dashboard is bound to", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/api/events" {
			start := time.Now()
			defer func() { s.addBusy(time.Since(start)) }()
		}
		next.ServeHTTP(w, r)
	})
}

// cookieName is port-specific: browsers send a cookie to every port of a
// host, so dashboards on two ports must not overwrite each other's.
func (s *Server) cookieName() string {
	if _, port, err := net.SplitHostPort(s.opts.Addr); err == nil && port != "" {
		return "arbor_token_" + port
	}
	return "arbor_token"
}

// cookieValue is derived from the token, not the token itself: another
// server on the same host, which receives the cookie, learns nothing it
// could use as a bearer token or in a ?token= link.
func (s *Server) cookieValue() string {
	m := hmac.New(sha256.New, []byte(s.opts.Token))
	m.Write([]byte("arbor dashboard cookie " + s.cookieName()))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) tokenMatches(got string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

func (s *Server) authorized(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return s.tokenMatches(strings.TrimPrefix(a, "Bearer "))
	}
	if c, err := r.Cookie(s.cookieName()); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.cookieValue())) == 1
	}
	return false
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
