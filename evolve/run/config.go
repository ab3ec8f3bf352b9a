// Package run turns a configuration into a search: the one YAML schema
// (every package's own Config under one roof), its loader with ARBOR_
// environment overrides, the generated reference, the checks of the files a
// run reads, the assembly of an engine (seed, catalog, evaluator, gate,
// resolver) and the opening of an existing run directory. `arbor evolve`,
// `arbor bench` and library users all go through it.
package run

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/names"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/train"
)

// Config is arbor's one configuration schema: each section is the owning
// package's own Config, so each package validates its own keys.
type Config struct {
	// Where the run lives, which catalog it draws modules from, and which
	// evaluator scores candidates.
	Run RunConfig `mapstructure:"run" yaml:"run"`
	// The search: strategy, seed architecture, parallelism, budgets, parent
	// selection and the planner.
	Evolve evolve.Config `mapstructure:"evolve" yaml:"evolve"`
	// The resolver that picks one enumerated option and fills its arguments.
	// With no base_url the offline resolver is used: no network, no spend.
	LLM llm.Config `mapstructure:"llm" yaml:"llm"`
	// Local PyTorch training: interpreter, worker pool, and the recipe,
	// dataset and limits of every job.
	Train train.Config `mapstructure:"train" yaml:"train"`
	// Mining nn.Module classes from PyTorch sources (`arbor mine`) and
	// probing their interfaces.
	Mine mine.Config `mapstructure:"mine" yaml:"mine"`
}

// RunConfig holds what belongs to the command rather than to a package:
// where the run lives and which files it reads.
type RunConfig struct {
	// Run directory: holds the run store run.db and the job directories.
	// `arbor evolve --run` overrides it. Relative paths (this key and every
	// other path key) are relative to the config file's folder; in a flag
	// or an ARBOR_ variable, to the working directory.
	Dir string `mapstructure:"dir" yaml:"dir"`
	// Module catalog (catalog.json from `arbor mine --probe`) the search may
	// insert and swap in; empty: built-in primitives only.
	Catalog string `mapstructure:"catalog" yaml:"catalog"`
	// `local` trains every candidate with PyTorch in child processes; `slurm`
	// submits each one as a Slurm job (see train.slurm); `tabular` looks
	// accuracies up in the NAS-Bench-201 table.
	Evaluator string `mapstructure:"evaluator" yaml:"evaluator"`
	// NAS-Bench-201 CSV for the tabular evaluator (read by path, never
	// copied): one row per cell with the columns index, arch (the cell
	// string, e.g. |nor_conv_3x3~0|+|...), c10_val12, c10_test12,
	// c100_val12, c100_test12, c10_test200 and c100_test200 (accuracies in
	// percent), exported from NAS-Bench-201 or NATS-Bench.
	Table string `mapstructure:"table" yaml:"table"`
	// Which NAS-Bench-201 column the tabular evaluator reports: `cifar10` or
	// `cifar100`.
	TabularDataset string `mapstructure:"tabular_dataset" yaml:"tabular_dataset"`
	// Log level on stderr: debug, info, warn or error.
	LogLevel string `mapstructure:"log_level" yaml:"log_level"`
}

// Default is every section's defaults.
func Default() Config {
	return Config{
		Run:    RunConfig{Dir: "runs/run", Evaluator: "local", TabularDataset: "cifar10", LogLevel: "info"},
		Evolve: evolve.DefaultConfig(),
		LLM:    llm.DefaultConfig(),
		Train:  train.DefaultConfig(),
		Mine:   mine.DefaultConfig(),
	}
}

// Validate checks every section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	switch c.Run.Evaluator {
	case "local":
	case "slurm":
		if err := c.Train.Slurm.Validate(); err != nil {
			errs = append(errs, err)
		}
	case "tabular":
		if c.Run.Table == "" {
			errs = append(errs, errors.New("run.table: the tabular evaluator needs the NAS-Bench-201 CSV path"))
		}
		if c.Run.TabularDataset != "cifar10" && c.Run.TabularDataset != "cifar100" {
			errs = append(errs, fmt.Errorf("run.tabular_dataset: must be cifar10 or cifar100, got %q", c.Run.TabularDataset))
		}
	default:
		errs = append(errs, fmt.Errorf("run.evaluator: must be local, slurm or tabular, got %q", c.Run.Evaluator))
	}
	switch strings.ToLower(c.Run.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("run.log_level: must be debug, info, warn or error, got %q", c.Run.LogLevel))
	}
	if c.Run.Dir == "" {
		errs = append(errs, errors.New("run.dir: must not be empty"))
	}
	if c.Train.Inherit && (c.Evolve.Checkpoints.Keep == 0 || c.Run.Evaluator != "local") {
		errs = append(errs, errors.New("train.inherit: children inherit their parents' kept weights, so it needs run.evaluator local and evolve.checkpoints.keep > 0"))
	}
	for _, v := range []interface{ Validate() error }{c.Evolve, c.LLM, c.Train, c.Mine} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EnvPrefix is the prefix of environment overrides: ARBOR_EVOLVE_BUDGET_TRAINED
// sets evolve.budget.trained.
const EnvPrefix = "ARBOR"

// Load reads path (empty: defaults only), applies ARBOR_SECTION_KEY
// environment overrides and then the overrides (flag values, keyed by
// dotted config key), makes every path absolute (PathRule: a value from
// the file is relative to the file's folder, one from an override or the
// environment to the working directory), and validates the result. Unknown keys in the file
// are errors naming the key and the file. Every error is bad input
// (errors.Is(err, ErrInput)).
func Load(path string, overrides map[string]any) (Config, error) {
	def := Default()
	v := viper.New()
	v.SetConfigType("yaml")
	leaves := map[string]bool{}
	flatten(reflect.ValueOf(def), "", func(key string, val any) {
		leaves[key] = true
		v.SetDefault(key, val)
	})
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	var fromEnv []string // keys an ARBOR_ variable sets
	for _, key := range slices.Sorted(maps.Keys(leaves)) {
		if _, ok := os.LookupEnv(EnvName(key)); ok {
			fromEnv = append(fromEnv, key)
		}
	}
	where := "defaults"
	if path != "" {
		where = path
		f, err := os.Open(path)
		if err != nil {
			return Config{}, Input(fmt.Errorf("config: %w", err))
		}
		fileV := viper.New()
		fileV.SetConfigType("yaml")
		err = fileV.ReadConfig(f)
		f.Close()
		if err != nil {
			return Config{}, Input(fmt.Errorf("config %s: %w", path, err))
		}
		if err := checkKeys(fileV, leaves, path); err != nil {
			return Config{}, Input(err)
		}
		if err := v.MergeConfigMap(fileV.AllSettings()); err != nil {
			return Config{}, Input(fmt.Errorf("config %s: %w", path, err))
		}
	}
	for _, key := range slices.Sorted(mapsKeys(overrides)) {
		if !leaves[key] {
			return Config{}, Input(fmt.Errorf("config override: unknown key %s", key))
		}
		v.Set(key, overrides[key])
	}
	// An error names where the bad value came from: a flag, an ARBOR_
	// variable, or the file.
	// A key counts when the error names it, or names its section
	// ("evolve.budget: ...") for a check over several keys.
	named := func(msg, key string) bool {
		if mentions(msg, key) {
			return true
		}
		i := strings.LastIndex(key, ".")
		return i > 0 && strings.Contains(key[:i], ".") && strings.Contains(msg, key[:i]+":")
	}
	source := func(err error) string {
		for _, k := range slices.Sorted(mapsKeys(overrides)) {
			if named(err.Error(), k) {
				return "command-line flag (" + k + ")"
			}
		}
		for _, k := range fromEnv {
			if named(err.Error(), k) {
				return "environment " + EnvName(k) + "=" + strconv.Quote(os.Getenv(EnvName(k)))
			}
		}
		return "config " + where
	}
	cfg := Default()
	if err := v.UnmarshalExact(&cfg); err != nil {
		err = typeErrors(err)
		return Config{}, Input(fmt.Errorf("%s: %w", source(err), err))
	}
	// One rule for every path key (PathRule): the file's values (and the
	// defaults it did not change) are relative to its folder, flags and
	// environment variables to the working directory.
	fileDir := ""
	if path != "" {
		fileDir = filepath.Dir(absPath(workDir(), path))
	}
	resolvePaths(&cfg, fileDir, func(key string) bool {
		_, flag := overrides[key]
		return !flag && !envSet(key)
	})
	if err := cfg.Validate(); err != nil {
		return Config{}, Input(fmt.Errorf("%s: %w", source(err), err))
	}
	return cfg, nil
}

// mentions reports whether msg names key as a whole key (evolve.seed in
// "evolve.seed: ...", not in "evolve.seed_arch: ...").
func mentions(msg, key string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		end := i + j + len(key)
		if end == len(msg) || !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789_.", rune(msg[end])) {
			return true
		}
		i = end
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkKeys reports the first key of the file that the schema does not
// have (viper lowercases keys, as the schema's are). A key that names a
// section but holds a scalar or a list is a type error, and says so.
func checkKeys(file *viper.Viper, leaves map[string]bool, path string) error {
	keys := file.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if leaves[k] || underLeaf(k, leaves) {
			continue
		}
		if sub := sectionKeys(k, leaves); len(sub) > 0 {
			return fmt.Errorf("config %s: %s must be a mapping (with keys %s), got %s %s",
				path, k, strings.Join(sub, ", "), yamlKind(file.Get(k)), yamlValue(file.Get(k)))
		}
		all := slices.Collect(maps.Keys(leaves))
		if near, ok := names.Closest(k, all); ok {
			return fmt.Errorf("config %s: unknown key %q; did you mean %q? (arbor config docs lists every key)", path, k, near)
		}
		// No near key: name the keys one level up, not the whole schema.
		parent := k[:max(0, strings.LastIndex(k, "."))]
		if sub := sectionKeys(parent, leaves); parent != "" && len(sub) > 0 {
			return fmt.Errorf("config %s: unknown key %q (%s has %s; arbor config docs lists every key)", path, k, parent, strings.Join(sub, ", "))
		}
		return fmt.Errorf("config %s: unknown key %q (sections: run, evolve, llm, train, mine; arbor config docs lists every key)", path, k)
	}
	return nil
}

// sectionKeys lists the direct keys of section k, or nil when k is not a
// section of the schema.
func sectionKeys(k string, leaves map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for l := range leaves {
		rest, ok := strings.CutPrefix(l, k+".")
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(rest, ".")
		if !seen[first] {
			seen[first] = true
			out = append(out, first)
		}
	}
	slices.Sort(out)
	return out
}

// yamlKind names the YAML type of a decoded value, for type errors.
func yamlKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "the string"
	case bool:
		return "the boolean"
	case int, int64, uint64, float64:
		return "the number"
	case []any:
		return "the list"
	}
	return fmt.Sprintf("a %T", v)
}

func yamlValue(v any) string {
	if v == nil {
		return ""
	}
	s := fmt.Sprint(v)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	if _, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return s
}

// mapstructure's decoding errors, one per line.
var (
	wrongType = regexp.MustCompile(`^'([^']+)' expected type '([^']+)', got unconvertible type '([^']+)'(?:, value: '(.*)')?$`)
	badParse  = regexp.MustCompile(`^'([^']+)' cannot parse value as '([^']+)': (.*)$`)
)

// typeErrors rewrites the decoder's errors as type errors that name the
// key, the type it must have and what the file gave instead.
func typeErrors(err error) error {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "* "))
		switch m := wrongType.FindStringSubmatch(line); {
		case m != nil:
			got := strings.NewReplacer("map[string]interface {}", "mapping", "[]interface {}", "list").Replace(m[3])
			out = append(out, fmt.Sprintf("%s must be %s, got a %s", m[1], goTypeName(m[2]), got))
			continue
		}
		if m := badParse.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%s must be %s: %s", m[1], goTypeName(m[2]), m[3]))
			continue
		}
		if line != "" && !strings.HasPrefix(line, "decoding failed") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return err
	}
	return errors.New(strings.Join(out, "; "))
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "a boolean (true or false)"
	case t == "string":
		return "a string"
	case t == "time.Duration":
		return "a duration such as 90s or 2h"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	}
	return "of type " + t
}

// underLeaf: a key below a map- or list-valued leaf (llm.models[i].name
// appears as llm.models) is the leaf's business.
func underLeaf(k string, leaves map[string]bool) bool {
	for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
		if leaves[k[:i]] {
			return true
		}
	}
	return false
}

var durationType = reflect.TypeFor[time.Duration]()

// flatten calls fn for every leaf of a config struct with its dotted
// mapstructure key, so viper knows every key (environment overrides only
// reach keys viper knows).
func flatten(v reflect.Value, prefix string, fn func(key string, val any)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if opts == "squash" && f.Anonymous {
			flatten(v.Field(i), prefix, fn)
			continue
		}
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			flatten(fv, key, fn)
			continue
		}
		fn(key, fv.Interface())
	}
}
