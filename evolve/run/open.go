package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// MetaConfig is the store's key for the whole configuration, so that a
// resume needs nothing but the run directory.
const MetaConfig = "cli_config"

// Create makes the run directory cfg.Run.Dir with a new store and records
// cfg in it.
func Create(ctx context.Context, cfg Config) (*store.Store, error) {
	db, err := store.CreateStore(cfg.Run.Dir)
	if err != nil {
		return nil, Input(err)
	}
	if err := SaveConfig(ctx, db, cfg); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Resume opens the run in dir for writing with the configuration stored
// in it (run.dir set to dir). change, when not nil, edits the
// configuration first (a new budget); the edited one is validated and
// stored.
func Resume(ctx context.Context, dir string, change func(*Config)) (*store.Store, Config, error) {
	db, err := store.OpenStore(dir)
	if err != nil {
		return nil, Config{}, Input(err)
	}
	cfg, ok, err := StoredConfig(ctx, db)
	if err == nil && !ok {
		err = Input(fmt.Errorf("evolve: %s has no stored configuration; it was not created by arbor evolve", dir))
	}
	if err != nil {
		db.Close()
		return nil, Config{}, err
	}
	cfg.Run.Dir = dir
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

// SaveConfig records cfg in the store.
func SaveConfig(ctx context.Context, db *store.Store, cfg Config) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return db.SetMeta(ctx, MetaConfig, string(b))
}

// StoredConfig is the configuration recorded in the store; ok is false for
// a store that has none (not made by Create).
func StoredConfig(ctx context.Context, s *store.Store) (cfg Config, ok bool, err error) {
	raw, ok, err := s.Meta(ctx, MetaConfig)
	if err != nil || !ok {
		return Config{}, false, err
	}
	cfg = Default()
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return Config{}, false, fmt.Errorf("run %s: stored configuration: %w", s.Path(), err)
	}
	return cfg, true, nil
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
