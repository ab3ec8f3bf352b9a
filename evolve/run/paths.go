package run

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/arbor-nas/arbor/tree"
)

// PathRule is the one rule for relative paths, as the reference and
// `config init` state it.
const PathRule = `A relative path in a config file is relative to the folder that holds the file,
whatever the working directory (so a config and the files beside it work from anywhere); a
relative path given in a flag or an ` + "`ARBOR_`" + ` variable is relative to the working directory. This holds
for every path key: ` + "`run.dir`, `run.catalog`, `run.table`, `evolve.seed_arch`, `train.dataset.path`, `train.work_dir`, `train.slurm.run_dir`, `llm.prompts.dir`" + `,
and ` + "`train.python`/`mine.python`" + ` when they contain a slash (a bare name is looked up in PATH).
arbor makes every path absolute when it loads the config, and a run stores the paths inside its own
directory relative to it, so a run directory that is moved or renamed still resumes.`

// pathKey is one configuration key that holds a file or folder path.
type pathKey struct {
	key string
	ptr *string
	// command: a bare name (no slash) is a program looked up in PATH, not
	// a path.
	command bool
	// seed: a built-in seed name is not a path.
	seed bool
}

// pathKeys lists the path keys of c, pointing into c. train.slurm.python
// is not one: it names the interpreter on the compute nodes, used as given.
func pathKeys(c *Config) []pathKey {
	return []pathKey{
		{key: "run.dir", ptr: &c.Run.Dir},
		{key: "run.catalog", ptr: &c.Run.Catalog},
		{key: "run.table", ptr: &c.Run.Table},
		{key: "evolve.seed_arch", ptr: &c.Evolve.SeedArch, seed: true},
		{key: "train.dataset.path", ptr: &c.Train.Dataset.Path},
		{key: "train.work_dir", ptr: &c.Train.WorkDir},
		{key: "train.slurm.run_dir", ptr: &c.Train.Slurm.RunDir},
		{key: "llm.prompts.dir", ptr: &c.LLM.Prompts.Dir},
		{key: "llm.api_key_file", ptr: &c.LLM.APIKeyFile},
		{key: "train.python", ptr: &c.Train.Python, command: true},
		{key: "mine.python", ptr: &c.Mine.Python, command: true},
	}
}

// isPath says whether v, the value of k, is a path (not empty, not a
// program name, not a built-in seed).
func (k pathKey) isPath(v string) bool {
	switch {
	case v == "":
		return false
	case k.command && !strings.ContainsRune(v, '/'):
		return false
	case k.seed && slices.Contains(tree.Seeds(), v):
		return false
	}
	return true
}

// absPath is p joined to base when relative, cleaned.
func absPath(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// workDir is the working directory, absolute ("." if it cannot be read,
// which filepath.Abs would fail on as well).
func workDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// resolvePaths makes every relative path of c absolute. fromFile(key)
// says whether the key's value came from the config file (or is a default
// of a config file): those are relative to fileDir; the rest (flags,
// environment) to the working directory.
func resolvePaths(c *Config, fileDir string, fromFile func(key string) bool) {
	wd := workDir()
	for _, k := range pathKeys(c) {
		if !k.isPath(*k.ptr) {
			continue
		}
		base := wd
		if fileDir != "" && fromFile(k.key) {
			base = fileDir
		}
		*k.ptr = absPath(base, *k.ptr)
	}
}

// Absolute returns c with every relative path made absolute against the
// working directory; the entry points of a run (Create, Resume, Build)
// apply it, so that children are always given absolute paths whatever a
// library caller passed.
func (c Config) Absolute() Config {
	resolvePaths(&c, "", nil)
	return c
}

// relativeToRun rewrites the paths of c that lie inside c.Run.Dir (which
// must be absolute) relative to it, run.dir itself becoming ".", for the
// stored copy of the configuration: a moved run directory takes them along.
func relativeToRun(c *Config) {
	dir := filepath.Clean(c.Run.Dir)
	for _, k := range pathKeys(c) {
		if !k.isPath(*k.ptr) || !filepath.IsAbs(*k.ptr) {
			continue
		}
		if rel, err := filepath.Rel(dir, *k.ptr); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			*k.ptr = rel
		}
	}
}

// fromRun undoes relativeToRun for a run now found in dir.
func fromRun(c *Config, dir string) {
	for _, k := range pathKeys(c) {
		if k.isPath(*k.ptr) {
			*k.ptr = absPath(dir, *k.ptr)
		}
	}
}

// envSet says whether the ARBOR_ variable of key is set (viper ignores an
// empty one, and so does this).
func envSet(key string) bool {
	return os.Getenv(EnvName(key)) != ""
}

// DisplayPath is p as a user would type it from the working directory:
// relative when p lies below it, else p itself. For messages.
func DisplayPath(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	rel, err := filepath.Rel(workDir(), p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}
