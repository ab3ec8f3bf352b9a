package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// MetaConfig is the store's key for the whole configuration, so that a
// resume needs nothing but the run directory.
const MetaConfig = "cli_config"

// Create makes the run directory cfg.Run.Dir with a new store that
// records cfg, and holds the run's lock until the store is closed.
// Relative paths in cfg are made absolute against the working directory
// first (Load has already made a loaded config's absolute). The files cfg
// names are checked first (CheckFiles), so a start with a missing
// dataset, table, catalog or seed file creates nothing.
func Create(ctx context.Context, cfg Config) (*store.Store, error) {
	cfg = cfg.Absolute()
	if err := CheckFiles(cfg); err != nil {
		return nil, err
	}
	meta, err := configMeta(cfg, cfg.Run.Dir)
	if err != nil {
		return nil, err
	}
	db, err := store.CreateStoreMeta(cfg.Run.Dir, meta)
	if err != nil {
		return nil, Input(err)
	}
	return db, nil
}

// Resume opens the run in dir for writing with the configuration stored
// in it (run.dir set to dir, made absolute: the directory may have been
// moved or renamed since). change, when not nil, edits the configuration
// first (a new budget); the edited one is validated and stored.
func Resume(ctx context.Context, dir string, change func(*Config)) (*store.Store, Config, error) {
	dir = absPath(workDir(), dir)
	db, err := store.OpenStore(dir)
	if err != nil {
		return nil, Config{}, Input(err)
	}
	cfg, ok, err := StoredConfig(ctx, db)
	if err == nil && !ok {
		err = Input(fmt.Errorf("evolve: %s has no stored configuration; it was not created by arbor evolve", dir))
	}
	if err == nil && strings.Contains(cfg.LLM.BaseURL, llm.Redacted) {
		// The credentials in the URL were not stored; the user gives the
		// full URL again.
		if u := os.Getenv(baseURLEnv); u != "" {
			cfg.LLM.BaseURL = u
		} else {
			err = Input(fmt.Errorf("evolve --resume %s: llm.base_url held credentials, which are not stored (%s); set %s to the full URL, or move the key to llm.api_key_file", dir, cfg.LLM.BaseURL, baseURLEnv))
		}
	}
	if err != nil {
		db.Close()
		return nil, Config{}, err
	}
	// The files may have moved or gone since the last start: say so now,
	// before anything is re-queued and crashes for want of them.
	if err := CheckFiles(cfg); err != nil {
		db.Close()
		return nil, Config{}, fmt.Errorf("resume %s: %w", dir, err)
	}
	if change != nil {
		change(&cfg)
		if err := cfg.Validate(); err != nil {
			db.Close()
			return nil, Config{}, Input(err)
		}
		if err := SaveConfig(ctx, db, cfg); err != nil {
			db.Close()
			return nil, Config{}, err
		}
	}
	return db, cfg, nil
}

// metaPaths records how the stored configuration's relative paths are to
// be read: "run" (relative to the run directory). Stores written before it
// hold paths relative to the working directory of the process that made
// them.
const metaPaths = "cli_config_paths"

// baseURLEnv overrides llm.base_url (viper's name for it): a resume reads
// the full URL from it when the stored one had its credentials redacted.
const baseURLEnv = "ARBOR_LLM_BASE_URL"

// SaveConfig records cfg in the store. Paths inside the run directory
// are stored relative to it (run.dir as "."), so the directory can move.
// Credentials in llm.base_url are redacted: the store is readable by
// anyone who can read the run.
func SaveConfig(ctx context.Context, db *store.Store, cfg Config) error {
	meta, err := configMeta(cfg, filepath.Dir(db.Path()))
	if err != nil {
		return err
	}
	// The rule first: a config without it would be read as an old one.
	for _, k := range []string{metaPaths, MetaConfig} {
		if err := db.SetMeta(ctx, k, meta[k]); err != nil {
			return err
		}
	}
	return nil
}

// configMeta is cfg as the store's meta entries for a run in dir.
func configMeta(cfg Config, dir string) (map[string]string, error) {
	cfg = cfg.Absolute()
	cfg.LLM.BaseURL = llm.RedactURL(cfg.LLM.BaseURL)
	cfg.Run.Dir = dir
	relativeToRun(&cfg)
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return map[string]string{MetaConfig: string(b), metaPaths: "run"}, nil
}

// StoredConfig is the configuration recorded in the store, with run.dir
// the store's directory and every path absolute; ok is false for a store
// that has none (not made by Create).
func StoredConfig(ctx context.Context, s *store.Store) (cfg Config, ok bool, err error) {
	raw, ok, err := s.Meta(ctx, MetaConfig)
	if err != nil || !ok {
		return Config{}, false, err
	}
	cfg = Default()
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return Config{}, false, fmt.Errorf("run %s: stored configuration: %w", s.Path(), err)
	}
	dir := absPath(workDir(), filepath.Dir(s.Path()))
	rule, _, err := s.Meta(ctx, metaPaths)
	if err != nil {
		return Config{}, false, err
	}
	if rule == "run" {
		fromRun(&cfg, dir)
	} else {
		cfg = cfg.Absolute() // an older store: as the process that made it read them
	}
	cfg.Run.Dir = dir
	return cfg, true, nil
}

// Settings is what readers of the run in s (status, report, dashboard)
// show of its stored configuration; ok is false when it has none.
func Settings(ctx context.Context, s *store.Store) (set store.Settings, ok bool, err error) {
	cfg, ok, err := StoredConfig(ctx, s)
	if err != nil || !ok {
		return store.Settings{}, ok, err
	}
	return store.Settings{Strategy: cfg.Evolve.Strategy, Seed: cfg.Evolve.Seed, Evaluator: cfg.Run.Evaluator, Parallel: cfg.Evolve.Parallel,
		Budget: cfg.Evolve.Budget.Trained, WallTime: cfg.Evolve.Budget.WallTime, MaxParams: cfg.Train.Limits.MaxParams,
		MaxFLOPs: cfg.Train.Limits.MaxFLOPs, Catalog: cfg.Run.Catalog, Epochs: cfg.Train.Recipe.Epochs}, true, nil
}

// OpenReadOnly opens a run directory's store read-only, for reading a run
// while a search may still write it. Every failure is bad input.
func OpenReadOnly(dir string) (*store.Store, error) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, Input(fmt.Errorf("run directory %s: %w (give the directory of a run: arbor evolve --run DIR)", dir, err))
	case !st.IsDir():
		return nil, Input(fmt.Errorf("run directory %s is not a directory", dir))
	}
	s, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		return nil, Input(err)
	}
	return s, nil
}

// Catalog loads the module catalog named in the run's stored
// configuration (nil when it used none).
func Catalog(ctx context.Context, s *store.Store) (tree.Catalog, error) {
	cfg, ok, err := StoredConfig(ctx, s)
	if err != nil || !ok {
		return nil, err
	}
	if cfg.Run.Catalog == "" {
		return nil, nil // a nil Catalog, not a nil map in one: no catalog
	}
	cat, err := LoadCatalog(cfg.Run.Catalog)
	if err != nil {
		return nil, fmt.Errorf("the run's catalog (run.catalog %s): %w", cfg.Run.Catalog, err)
	}
	return cat, nil
}
