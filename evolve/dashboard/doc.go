// Package dashboard is the live web dashboard of `arbor serve`: one HTTP
// server, inside the arbor binary, that shows runs while searches write
// them and `arbor bench` output directories.
//
// It reads each run store read-only (SQLite in WAL mode: a reader never
// blocks the search that writes), incrementally: a poll asks the store for
// the events after the last one seen, which is one indexed query when
// nothing happened, and re-reads only the candidates those events name.
// Clients learn of a change through server-sent events and fetch the view
// they show. The analysis (best, Pareto front, lineage, status counts)
// comes from the same code as `arbor status` and `arbor report`, so the
// page and the commands agree.
//
// The front end is hand-written JavaScript with inline SVG charts, embedded
// with go:embed: no build step, nothing fetched from the internet, no
// third-party code to vendor and keep patched, and every string from a run
// (candidate source, LLM prompts and answers, rationales, docstrings) is put
// on the page as a text node, never parsed as HTML. A Content-Security-Policy
// that allows only the server's own script files backs that up.
//
// Security: the server is read-only (GET and HEAD only), binds to loopback
// by default, and a non-loopback address requires a token that every
// request must carry (header, cookie or query parameter).
package dashboard
