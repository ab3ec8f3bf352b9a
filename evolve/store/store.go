package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// StoreFile is the name of the run store inside a run directory.
const StoreFile = "run.db"

// schemaVersion is bumped when the tables change; openExisting migrates
// older stores forward (see migration).
const schemaVersion = 3

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	parent_id   TEXT NOT NULL DEFAULT '',
	strategy    TEXT NOT NULL DEFAULT '',
	op          TEXT NOT NULL DEFAULT '',
	transform   TEXT NOT NULL DEFAULT '',
	category    TEXT NOT NULL DEFAULT '',
	path        TEXT NOT NULL DEFAULT '',
	module      TEXT NOT NULL DEFAULT '',
	args        TEXT NOT NULL DEFAULT '{}',
	rationale   TEXT NOT NULL DEFAULT '',
	fallback    INTEGER NOT NULL DEFAULT 0,
	tree        TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT '',
	hash        TEXT NOT NULL DEFAULT '',
	code_hash   TEXT NOT NULL DEFAULT '',
	params      INTEGER NOT NULL DEFAULT 0,
	flops       INTEGER NOT NULL DEFAULT 0,
	gate        TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	train_status TEXT NOT NULL DEFAULT '',
	val_acc     REAL NOT NULL DEFAULT 0,
	test_acc    REAL NOT NULL DEFAULT 0,
	latency_ms  REAL NOT NULL DEFAULT 0,
	wall_s      REAL NOT NULL DEFAULT 0,
	peak_mem_mb REAL NOT NULL DEFAULT 0,
	device      TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	handle      TEXT NOT NULL DEFAULT '',
	curve       TEXT NOT NULL DEFAULT '[]',
	reward      INTEGER NOT NULL DEFAULT -1,
	attempts    INTEGER NOT NULL DEFAULT 0,
	interrupted INTEGER NOT NULL DEFAULT 0,
	inherited   INTEGER NOT NULL DEFAULT 0,
	engine_ms   REAL NOT NULL DEFAULT 0,
	llm_tokens  INTEGER NOT NULL DEFAULT 0,
	llm_cost    REAL NOT NULL DEFAULT 0,
	proposed_at TEXT NOT NULL,
	started_at  TEXT NOT NULL DEFAULT '',
	finished_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS candidates_hash ON candidates(hash);
CREATE INDEX IF NOT EXISTS candidates_code_hash ON candidates(code_hash);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates(status);
CREATE TABLE IF NOT EXISTS planner (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_calls (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	time         TEXT NOT NULL,
	candidate_id TEXT NOT NULL DEFAULT '',
	model        TEXT NOT NULL DEFAULT '',
	category     TEXT NOT NULL DEFAULT '',
	tokens_in    INTEGER NOT NULL DEFAULT 0,
	tokens_out   INTEGER NOT NULL DEFAULT 0,
	cost         REAL NOT NULL DEFAULT 0,
	latency_ms   REAL NOT NULL DEFAULT 0,
	attempts     INTEGER NOT NULL DEFAULT 0,
	outcome      TEXT NOT NULL DEFAULT '',
	record       TEXT NOT NULL DEFAULT '{}'
);
` + llmSpendTable + `
CREATE TABLE IF NOT EXISTS events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	time         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	candidate_id TEXT NOT NULL DEFAULT '',
	data         TEXT NOT NULL
);
`

// Store is the run store: one SQLite file (WAL mode) per run directory.
// Every method is safe for concurrent use; each write is one transaction,
// so a result is stored whole or not at all, and other processes (status,
// reports) can read the file while a search writes it.
type Store struct {
	db   *sql.DB
	path string
	mu   sync.Mutex // serialises writers inside this process
	// lock is the run lock a writable store holds (nil: read-only).
	lock *runLock
	// created: CreateStore made the store; madeDir: it made the
	// directory too. Discard removes what was made.
	created, madeDir bool
}

// ErrNoStore means the directory holds no run store.
var ErrNoStore = errors.New("no run store")

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if !readOnly {
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable against a killed process (not a power cut), which is the crash we promise to survive.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// CreateStore makes dir (if needed) and a new, empty store in it; see
// CreateStoreMeta.
func CreateStore(dir string) (*Store, error) { return CreateStoreMeta(dir, nil) }

// CreateStoreMeta makes dir (if needed) and a new store in it holding
// meta, and holds the run lock (LockFile) until Close. It fails when dir
// already holds a store, so a run is never silently overwritten. The
// check and the creation happen under the lock, and the schema and meta
// are written in one transaction: of two processes creating the same run
// only one succeeds, and a creation killed half-way leaves an empty
// database that the next CreateStoreMeta replaces.
func CreateStoreMeta(dir string, meta map[string]string) (*Store, error) {
	_, statErr := os.Stat(dir)
	madeDir := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run dir %s: %w", dir, err)
	}
	lock, err := acquireLock(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, StoreFile)
	if _, err := os.Stat(path); err == nil {
		if empty, eerr := emptyDatabase(path); eerr != nil || !empty {
			lock.release()
			return nil, fmt.Errorf("run dir %s already holds a run store (%s): use --resume %s or choose another --run dir", dir, StoreFile, dir)
		}
		removeDatabase(path) // a creation killed before its transaction committed
	}
	s, err := openStore(path, false)
	if err != nil {
		lock.release()
		return nil, err
	}
	s.lock, s.created, s.madeDir = lock, true, madeDir
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["schema_version"] = fmt.Sprint(schemaVersion)
	err = s.tx(context.Background(), "create", func(tx *sql.Tx) error {
		if _, err := tx.Exec(schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		for _, k := range slices.Sorted(maps.Keys(meta)) {
			if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES(?, ?)`, k, meta[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.Discard()
		return nil, err
	}
	return s, nil
}

// emptyDatabase says whether the SQLite file at path has no tables.
func emptyDatabase(path string) (bool, error) {
	s, err := openStore(path, true)
	if err != nil {
		return false, err
	}
	defer s.db.Close()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		return false, err
	}
	return n == 0, nil
}

// removeDatabase removes the SQLite file at path with its WAL and index.
func removeDatabase(path string) error {
	var first error
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// OpenStore opens the existing store in dir for reading and writing (resume).
func OpenStore(dir string) (*Store, error) { return openExisting(dir, false) }

// OpenStoreReadOnly opens the store in dir for reading while another
// process may be writing it.
func OpenStoreReadOnly(dir string) (*Store, error) { return openExisting(dir, true) }

func openExisting(dir string, readOnly bool) (*Store, error) {
	path := filepath.Join(dir, StoreFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w (is %s a run directory?)", path, ErrNoStore, dir)
	}
	var lock *runLock
	if !readOnly {
		var err error
		if lock, err = acquireLock(dir); err != nil {
			return nil, err
		}
	}
	s, err := openStore(path, readOnly)
	if err != nil {
		lock.release()
		return nil, err
	}
	s.lock = lock
	var v string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key='schema_version'`).Scan(&v); err != nil {
		s.Close()
		return nil, fmt.Errorf("run store %s is not an arbor run store or is corrupt: %w", path, err)
	}
	if v != fmt.Sprint(schemaVersion) {
		if err := s.migrate(v); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// llmSpendTable is the whole-run spend ledger (one row), created with the
// schema and by the migration from version 1.
const llmSpendTable = `CREATE TABLE IF NOT EXISTS llm_spend (
	id                INTEGER PRIMARY KEY CHECK (id = 1),
	requests          INTEGER NOT NULL DEFAULT 0,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	cost              REAL NOT NULL DEFAULT 0
);`

// migration brings a store of schema version v to v+1; ok is false for a
// version with no step.
func migration(v string) (step string, ok bool) {
	switch v {
	case "1":
		return `ALTER TABLE candidates ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
` + llmSpendTable, true
	case "2":
		return `ALTER TABLE candidates ADD COLUMN inherited INTEGER NOT NULL DEFAULT 0;`, true
	}
	return "", false
}

// migrate upgrades a store written by an older arbor, one version at a
// time, each step in one transaction.
func (s *Store) migrate(from string) error {
	for v := from; v != fmt.Sprint(schemaVersion); {
		step, ok := migration(v)
		if !ok {
			return fmt.Errorf("run store %s has schema version %s, this arbor reads %d", s.path, v, schemaVersion)
		}
		n, _ := strconv.Atoi(v)
		next := strconv.Itoa(n + 1)
		err := s.tx(context.Background(), "migrate schema "+v+" to "+next, func(tx *sql.Tx) error {
			if _, err := tx.Exec(step); err != nil {
				return err
			}
			_, err := tx.Exec(`UPDATE meta SET value=? WHERE key='schema_version'`, next)
			return err
		})
		if err != nil {
			return err
		}
		v = next
	}
	return nil
}

func openStore(path string, readOnly bool) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("run store %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and it keeps the
	// pragmas (set per connection) in force.
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("run store %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the database and releases the run lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if lerr := s.lock.release(); err == nil {
		err = lerr
	}
	return err
}

// Discard closes a store that CreateStore made in this process and
// removes it again, with its lock file and, when CreateStore made the
// directory, the directory if nothing else is left in it: a run whose
// start failed leaves nothing behind, so the same command can be run
// again once the cause is fixed. A store that was opened (resumed) is
// only closed.
func (s *Store) Discard() error {
	if s.lock == nil || !s.created {
		return s.Close()
	}
	err := s.db.Close()
	dir := filepath.Dir(s.path)
	if rerr := removeDatabase(s.path); err == nil {
		err = rerr
	}
	// Removed while held: a process waiting on the old file notices
	// (acquireLock's sameFile) and starts again on a new one.
	if rerr := os.Remove(filepath.Join(dir, LockFile)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	if lerr := s.lock.release(); err == nil {
		err = lerr
	}
	if s.madeDir {
		os.Remove(dir) // only when empty
	}
	return err
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A write must not be lost because the run is being cancelled: the
	// transaction is short, so it runs to completion regardless of ctx.
	tx, err := s.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("run store %s: %s: %w", s.path, what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("run store %s: %s: %w", s.path, what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("run store %s: %s: commit: %w", s.path, what, err)
	}
	return nil
}

// SetMeta stores one key of run metadata (config, seed, ...).
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	return s.tx(ctx, "set "+key, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
		return err
	})
}

// Meta reads one key of run metadata; ok is false when it is absent.
func (s *Store) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key=?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("run store %s: meta %s: %w", s.path, key, err)
	}
	return value, true, nil
}

// PlannerState returns the saved planner state, or nil when none was saved.
func (s *Store) PlannerState(ctx context.Context) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT state FROM planner WHERE id=1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run store %s: planner state: %w", s.path, err)
	}
	return b, nil
}

// Events returns the stored events in order.
func (s *Store) Events(ctx context.Context) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM events ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("run store %s: events: %w", s.path, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var ev Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return nil, fmt.Errorf("run store %s: event: %w", s.path, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// SetHandle stores the backend handle of a submitted job (a Slurm job ID)
// as soon as it is known, so a resumed run can re-attach instead of
// submitting the candidate a second time.
func (s *Store) SetHandle(ctx context.Context, id, handle string) error {
	return s.tx(ctx, "set handle of "+id, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE candidates SET handle=? WHERE id=?`, handle, id)
		return err
	})
}
