package run

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The configuration reference has one source: the key list comes from
// reflecting over Config's mapstructure tags, the types and defaults from
// DefaultConfig, and the prose from configKeyDocs. `arbor config init`,
// `arbor config docs` and docs/configuration.md are all generated from it,
// and a test fails when a key has no prose or the committed doc is stale.

// KeyDoc is one leaf key of the schema.
type KeyDoc struct {
	Key     string // dotted, as in YAML and ARBOR_ env names
	Type    string // for people: string, integer, duration, ...
	Default string // YAML literal of the default
	Doc     string
}

// configSectionDocs describes each section (a key whose value is a struct).
func configSectionDocs() map[string]string {
	return map[string]string{
		"run":              "Where the run lives, which catalog it draws modules from, and which evaluator scores candidates.",
		"evolve":           "The search: strategy, seed architecture, parallelism, budgets, parent selection and the planner.",
		"evolve.budget":    "The run stops at whichever limit is reached first; 0 means no limit (at least one of trained, wall_time or target_acc must be set).",
		"evolve.parents":   "How a parent is drawn from the feasible archive.",
		"evolve.planner":   "The hierarchical Beta-Bernoulli Thompson sampler that picks an operation, then a prompt category.",
		"evolve.evolution": "Regularized evolution (strategy evolution) only.",
		"evolve.surrogate": "Surrogate screening (strategy thompson+surrogate) only: K resolved children are scored by a Gaussian process and one is trained.",
		"llm":              "The resolver that picks one enumerated option and fills its arguments. With no base_url the offline resolver is used: no network, no spend.",
		"llm.limits":       "Spending caps over the whole run, kept in the run store so they hold across kill -9 and --resume (a request counts before it is sent); 0 means unlimited. When a cap would be exceeded, the offline resolver decides instead (counted as fallbacks). The words are those of the LLM-use vocabulary below.",
		"llm.prompts":      "Prompt rendering and its token budget.",
		"llm.offline":      "The offline resolver (used when no endpoint is configured, and as the fallback).",
		"train":            "Local PyTorch training: interpreter, worker pool, and the recipe, dataset and limits of every job.",
		"train.recipe":     "How each candidate is trained.",
		"train.dataset":    "The data candidates train and validate on.",
		"train.limits":     "Bounds on one job; max_params and max_flops are also the gate's constraints.",
		"train.slurm":      "The Slurm backend (run.evaluator: slurm): each candidate is one sbatch job running the embedded trainer; see docs/slurm.md.",
		"mine":             "Mining nn.Module classes from PyTorch sources (`arbor mine`) and probing their interfaces.",
	}
}

// configKeyDocs describes every leaf key.
func configKeyDocs() map[string]string {
	return map[string]string{
		"run.dir":             "Run directory: holds the run store run.db and the job directories. `arbor evolve --run` overrides it.",
		"run.catalog":         "Module catalog (catalog.json from `arbor mine --probe`) the search may insert and swap in; empty: built-in primitives only.",
		"run.evaluator":       "`local` trains every candidate with PyTorch in child processes; `slurm` submits each one as a Slurm job (see train.slurm); `tabular` looks accuracies up in the NAS-Bench-201 table.",
		"run.table":           "NAS-Bench-201 CSV for the tabular evaluator (read by path, never copied).",
		"run.tabular_dataset": "Which NAS-Bench-201 column the tabular evaluator reports: `cifar10` or `cifar100`.",
		"run.log_level":       "Log level on stderr: debug, info, warn or error.",

		"evolve.strategy":                "`thompson` (planner + resolver, the method), `random`, `evolution` (regularized evolution), `codegen` (the LLM rewrites source) or `thompson+surrogate`.",
		"evolve.seed":                    "Seed of every random choice in the run (planner, parents, offline resolver): the same seed and config give the same search.",
		"evolve.seed_arch":               "Starting architecture: a built-in seed (resnet20, resnet32, resnet56, nb201-resnet, vgg-small, mobilenetv2-small) or a tree JSON file.",
		"evolve.parallel":                "Candidates in flight at once (proposed and training).",
		"evolve.budget.trained":          "Candidates the evaluator finishes, seeds and failures included; rejected and duplicate proposals cost nothing. `arbor evolve --budget` overrides it.",
		"evolve.budget.wall_time":        "Wall-clock limit of the search, e.g. 20m or 2h.",
		"evolve.budget.llm_usd":          "Stop when LLM spend reaches this many US dollars.",
		"evolve.budget.target_acc":       "Stop once a candidate reaches this validation accuracy, in percent.",
		"evolve.parents.method":          "`topk`: uniform among the best k; `tournament`: the best of tournament_size drawn at random.",
		"evolve.parents.k":               "topk: the number of best candidates a parent is drawn from (the paper: 5 for 100 trials, 25 for 500).",
		"evolve.parents.tournament_size": "tournament: candidates drawn per tournament.",
		"evolve.planner.epsilon":         "Probability of a uniform choice instead of Thompson sampling at each level (the paper: 0.5), so the posterior does not lock in.",
		"evolve.planner.prior_alpha":     "Alpha of every arm's Beta prior.",
		"evolve.planner.prior_beta":      "Beta of every arm's Beta prior.",
		"evolve.planner.reward":          "When a child counts as a success: `beats-parent` (the paper), `beats-best` or `feasible` (trained without failure).",
		"evolve.planner.ops":             "Operations the planner may choose: change-arg, swap, insert, delete, compose, repeat.",
		"evolve.planner.categories":      "Prompt categories: exploit (rely on the LLM), reverse (go against recent directions), diversity (minimal LLM use).",
		"evolve.evolution.population":    "Regularized evolution: population size (oldest members age out).",
		"evolve.evolution.sample":        "Regularized evolution: candidates sampled per tournament (at most population).",
		"evolve.surrogate.k":             "Resolved children drawn per step; the surrogate picks one to train.",
		"evolve.surrogate.acquisition":   "Acquisition function: `ei` (expected improvement) or `ucb` (upper confidence bound).",
		"evolve.surrogate.xi":            "EI's margin over the best observed signal, in signal units.",
		"evolve.surrogate.beta":          "UCB's weight on the predicted standard deviation.",
		"evolve.surrogate.diversity":     "Penalty for children close to an already trained neighbour, in units of the signal's standard deviation.",
		"evolve.surrogate.min_observed":  "Trained candidates needed before the surrogate screens; until then the planner's own pick is trained.",
		"evolve.surrogate.max_exact":     "Largest training set the Gaussian process is fitted on exactly.",
		"evolve.max_options":             "Options offered per decision; when more are valid, a seeded diverse sample is offered.",
		"evolve.dry_run":                 "Instantiate each child and run a forward and backward pass in a child process before it may train.",
		"evolve.grace":                   "After Ctrl-C, how long in-flight jobs may finish before they are cancelled (a second Ctrl-C cancels at once).",
		"evolve.max_reject_streak":       "Stop when this many proposals in a row fail the gate: the space around the archive is exhausted.",
		"llm.base_url":                   "OpenAI-compatible endpoint, e.g. https://api.openai.com/v1, http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama); empty: offline resolver.",
		"llm.model":                      "Model name; shorthand for one entry in llm.models with weight 1.",
		"llm.models":                     "Models calls are shared among, each `{name, weight, input_usd_per_mtok, output_usd_per_mtok}` (prices in USD per million tokens, used for spend accounting). Set this or llm.model.",
		"llm.api_key_env":                "Name of the environment variable holding the API key; the key itself never appears in configs, logs or records.",
		"llm.temperature":                "Sampling temperature.",
		"llm.max_tokens":                 "Maximum tokens of one answer.",
		"llm.timeout":                    "Timeout of one HTTP call.",
		"llm.structured":                 "Ask for JSON-schema structured output (response_format); leave off for servers that do not support it.",
		"llm.max_repairs":                "Times an invalid answer is sent back with the error before a random valid option is used (and recorded as a fallback).",
		"llm.max_retries":                "Retries of a failed HTTP call (429, 5xx, timeouts) with exponential backoff.",
		"llm.backoff_base":               "First retry delay; it doubles with each retry.",
		"llm.backoff_max":                "Longest retry delay.",
		"llm.seed":                       "Seed of model selection and the offline resolver; `arbor evolve` sets it to evolve.seed.",
		"llm.limits.max_calls":           "Most HTTP requests in the run: every request counts (first tries, retries, repairs, failed ones), not decisions.",
		"llm.limits.max_tokens":          "Most tokens (prompt + completion, as the server reports them) in the run; a request in flight counts at its worst case until it settles.",
		"llm.limits.max_usd":             "Most US dollars (usd) spent in the run, from llm.models prices.",
		"llm.prompts.dir":                "Directory whose *.tmpl files replace the embedded prompt templates of the same name.",
		"llm.prompts.max_options":        "Most options shown in one prompt; more are sampled with diversity across modules and paths.",
		"llm.prompts.max_source_tokens":  "Cap on each module's source in the prompt, in tokens.",
		"llm.prompts.max_prompt_tokens":  "Cap on the whole prompt, in tokens; sources are cut and then options dropped until it fits.",
		"llm.offline.args":               "How the offline resolver fills arguments: `uniform` (draw within each range) or `defaults` (declared defaults where given).",
		"llm.record_text":                "Keep the full prompt and answer in the run store's call records.",
		"llm.record_max_bytes":           "With record_text, cut each prompt and answer to this many bytes.",
		"train.python":                   "Python interpreter with torch; empty: the first of python3, /usr/bin/python3 that can import torch.",
		"train.workers":                  "Parallel training processes.",
		"train.slurm.partition":          "sbatch --partition; empty: the cluster default.",
		"train.slurm.account":            "sbatch --account; empty: none.",
		"train.slurm.qos":                "sbatch --qos; empty: none.",
		"train.slurm.gres":               "sbatch --gres per candidate, e.g. gpu:1; empty: none.",
		"train.slurm.cpus_per_task":      "sbatch --cpus-per-task per candidate.",
		"train.slurm.mem":                "sbatch --mem per candidate, e.g. 8G; empty: the cluster default.",
		"train.slurm.time":               "sbatch --time per candidate in any Slurm format; Slurm's TIMEOUT becomes status timeout.",
		"train.slurm.extra_args":         "Extra sbatch arguments appended to every submission (tracking flags such as --job-name are refused).",
		"train.slurm.python":             "The Python interpreter ON THE COMPUTE NODES; it must import torch (the start-up probe checks it).",
		"train.slurm.max_in_flight":      "Most jobs queued or running at once.",
		"train.slurm.run_dir":            "Job directories; must be on a filesystem shared by the login node and the compute nodes (checked by a probe job).",
		"train.slurm.poll_interval":      "How often one squeue call checks every job in flight.",
		"train.slurm.skip_probe":         "Skip the shared-filesystem probe job at start.",
		"train.devices":                  "CUDA device IDs; worker i sees devices[i mod len] through CUDA_VISIBLE_DEVICES. Empty: inherited.",
		"train.work_dir":                 "Directory of the job directories; empty: a temporary directory.",
		"train.keep_dirs":                "Keep each job's directory (source, log, result) after it finishes.",
		"train.prestart":                 "Keep one interpreter per worker with torch already imported, so jobs do not wait for Python to start.",
		"train.kill_grace_s":             "Seconds a stopped job gets between SIGTERM and SIGKILL.",
		"train.gate_timeout_s":           "Seconds one dry-run check may take.",
		"train.gate_threads":             "Torch CPU threads of the dry-run check.",
		"train.recipe.epochs":            "Training epochs per candidate (the paper: NAS-Bench-201's 200).",
		"train.recipe.batch_size":        "Mini-batch size.",
		"train.recipe.optimizer":         "`sgd` or `adamw`.",
		"train.recipe.lr":                "Peak learning rate (cosine schedule after warm-up).",
		"train.recipe.momentum":          "SGD momentum, in [0, 1).",
		"train.recipe.nesterov":          "Nesterov momentum (needs momentum > 0).",
		"train.recipe.weight_decay":      "Weight decay.",
		"train.recipe.warmup_epochs":     "Linear warm-up, in epochs (may be fractional).",
		"train.recipe.label_smoothing":   "Label smoothing, in [0, 1).",
		"train.recipe.augment":           "Random crop and flip augmentation.",
		"train.recipe.subset":            "Training images used: 0 = all, a fraction in (0, 1], or a count.",
		"train.recipe.amp":               "Mixed precision (used only on CUDA).",
		"train.recipe.threads":           "Torch CPU threads per job; 0 = torch's default.",
		"train.dataset.name":             "fashion-mnist, mnist, cifar10, cifar100, imagenet16-120, synthetic (generated: class templates under noise, linearly separable, for unit tests) or gratings (generated: oriented gratings under noise, where capacity matters, for smoke searches).",
		"train.dataset.path":             "Dataset folder; empty: /usr/share/datasets/NAME (Debian's dataset-fashion-mnist for fashion-mnist). cifar10/100 and imagenet16-120 need it.",
		"train.dataset.val_split":        "Fraction of the training set held out for validation accuracy, which the search ranks by (the test set is never used for selection).",
		"train.limits.wall_s":            "Seconds one job may run before it is killed (status timeout); 0 = no limit.",
		"train.limits.max_params":        "Most parameters a candidate may have (the paper: 1.5 M); 0 = no limit.",
		"train.limits.max_flops":         "Most FLOPs (multiply-accumulates) of one forward pass at the dataset's input size (the paper: 0.2 G on CIFAR); 0 = no limit.",
		"mine.jobs":                      "Files parsed in parallel.",
		"mine.max_file_bytes":            "Larger source files are skipped with a warning.",
		"mine.include":                   "Globs of files to mine (matched against the relative path when they contain a /, else the base name); empty: all *.py.",
		"mine.exclude":                   "Globs of files to skip, matched like include.",
		"mine.python":                    "Interpreter for the interface probe; empty: the first of python3, /usr/bin/python3 that can import torch.",
		"mine.probe_timeout":             "Time limit of one module's probe; a module over it is marked failed.",
		"mine.probe_memory_mb":           "Address-space cap (RLIMIT_AS) of the probe's child process in MiB, so a module that allocates without bound fails alone; 0 = no cap, else at least 1024.",
		"mine.probe_widths":              "Three increasing channel widths the parameter and MAC polynomials are fitted from.",
		"mine.ref_hw":                    "Spatial size of the probe's dummy input.",
	}
}

// Reference lists every leaf key of Config in schema order. It fails when
// a key or section has no doc, or a doc names a key the schema lost; the
// list is complete either way, so the commands still work (a test catches
// the gap).
func Reference() ([]KeyDoc, error) {
	return referenceOf(Default(), configKeyDocs(), configSectionDocs())
}

// referenceOf documents the config struct def (its values are the defaults).
func referenceOf(def any, docs, secDocs map[string]string) ([]KeyDoc, error) {
	var out []KeyDoc
	var missing []string
	flatten(reflect.ValueOf(def), "", func(key string, val any) {
		d, ok := docs[key]
		if !ok {
			missing = append(missing, key)
		}
		if !ok {
			d = "(not documented yet)"
		}
		out = append(out, KeyDoc{Key: key, Type: configTypeName(reflect.TypeOf(val)), Default: yamlLiteral(val), Doc: d})
	})
	known := map[string]bool{}
	for _, k := range out {
		known[k.Key] = true
	}
	var stale []string
	for k := range docs {
		if !known[k] {
			stale = append(stale, k)
		}
	}
	sections := configSections(out)
	for _, s := range sections {
		if _, ok := secDocs[s]; !ok {
			missing = append(missing, s+" (section)")
		}
	}
	for s := range secDocs {
		if !slices.Contains(sections, s) {
			stale = append(stale, s+" (section)")
		}
	}
	slices.Sort(stale)
	var errs []string
	if len(missing) > 0 {
		errs = append(errs, "no documentation for "+strings.Join(missing, ", ")+" (add it to configKeyDocs/configSectionDocs in evolve/run/reference.go)")
	}
	if len(stale) > 0 {
		errs = append(errs, "documentation for keys the schema no longer has: "+strings.Join(stale, ", "))
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("configuration reference: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// configSections lists the sections (every proper prefix of a key) in
// order of first appearance.
func configSections(keys []KeyDoc) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		parts := strings.Split(k.Key, ".")
		for i := 1; i < len(parts); i++ {
			s := strings.Join(parts[:i], ".")
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

func configTypeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint, reflect.Uint32:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + configTypeName(t.Elem()) + "s"
	case reflect.Array:
		return fmt.Sprintf("list of %d %ss", t.Len(), configTypeName(t.Elem()))
	}
	return t.String()
}

var plainScalar = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./+-]*$`)

// yamlLiteral writes a default as YAML that LoadConfig reads back to the
// same value.
func yamlLiteral(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case string:
		switch strings.ToLower(x) {
		case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
			return strconv.Quote(x)
		}
		if plainScalar.MatchString(x) {
			return x
		}
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = yamlLiteral(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// wrapWords breaks text into lines of at most width runes at spaces.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// CommentedDefault is the YAML that `arbor config init` writes: every key
// with its default value and its doc as comments.
func CommentedDefault(keys []KeyDoc) string {
	var b strings.Builder
	b.WriteString(`# arbor configuration: every key with its default value.
# Written by ` + "`arbor config init`" + `; check it with ` + "`arbor config check FILE`" + `.
# Delete the keys you do not change. Environment variables override this file
# (ARBOR_EVOLVE_BUDGET_TRAINED=50 sets evolve.budget.trained) and command-line
# flags override both. Full reference: docs/configuration.md (` + "`arbor config docs`" + `).
`)
	secDocs := configSectionDocs()
	var open []string // the sections the current line is nested in
	for _, k := range keys {
		parts := strings.Split(k.Key, ".")
		sections := parts[:len(parts)-1]
		common := 0
		for common < len(open) && common < len(sections) && open[common] == sections[common] {
			common++
		}
		open = append(open[:common], sections[common:]...)
		for i := common; i < len(sections); i++ {
			ind := strings.Repeat("  ", i)
			name := strings.Join(sections[:i+1], ".")
			b.WriteString("\n")
			for _, l := range wrapWords(secDocs[name], 76-len(ind)) {
				b.WriteString(ind + "# " + l + "\n")
			}
			b.WriteString(ind + sections[i] + ":\n")
		}
		ind := strings.Repeat("  ", len(sections))
		for _, l := range wrapWords(k.Doc+" ("+k.Type+")", 76-len(ind)) {
			b.WriteString(ind + "# " + l + "\n")
		}
		b.WriteString(ind + parts[len(parts)-1] + ": " + k.Default + "\n")
	}
	return b.String()
}

// Markdown is docs/configuration.md.
func Markdown(keys []KeyDoc) string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated by ` + "`arbor config docs > docs/configuration.md`" + ` from the Config struct and
evolve/run/reference.go; do not edit by hand (a test fails when this file is stale). -->

arbor reads one YAML file (` + "`arbor evolve --config FILE`" + `). Every key is optional; a missing
key keeps the default shown here. Unknown keys, values of the wrong type and values out of
range are errors that name the key and the file: run ` + "`arbor config check FILE`" + ` before a long
search (it also checks that datasets, tables, catalogs and seed files exist and says where to
get them). ` + "`arbor config init -o arbor.yaml`" + ` writes every key with its default and this
documentation as comments.

Precedence, lowest first: defaults, the file, environment variables, command-line flags.
Every key has an environment variable: ` + "`ARBOR_`" + ` followed by the key in upper case with dots
replaced by underscores, e.g. ` + "`ARBOR_EVOLVE_BUDGET_TRAINED=50`" + `. The flags of ` + "`arbor evolve`" + `
(` + "`--run`, `--budget`, `--seed`" + `) override ` + "`run.dir`, `evolve.budget.trained` and `evolve.seed`" + `.

Durations are written like ` + "`30s`, `20m`, `2h`" + `. Accuracies are in percent.

`)
	secDocs := configSectionDocs()
	sections := configSections(keys)
	for _, s := range sections {
		level := strings.Repeat("#", 2+strings.Count(s, "."))
		fmt.Fprintf(&b, "%s `%s`\n\n%s\n\n", level, s, secDocs[s])
		var rows []KeyDoc
		for _, k := range keys {
			if k.Key[:strings.LastIndexByte(k.Key, '.')] == s {
				rows = append(rows, k)
			}
		}
		if len(rows) == 0 {
			continue
		}
		b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
		for _, k := range rows {
			def := "`" + k.Default + "`"
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s<br>env `%s` |\n", k.Key, k.Type, mdEscape(def), mdEscape(k.Doc), EnvName(k.Key))
		}
		b.WriteString("\n")
	}
	b.WriteString(llmVocabulary)
	return b.String()
}

// llmVocabulary is the one meaning of each word about LLM use, shared by
// arbor status, --json (the "llm" object) and the limits above.
const llmVocabulary = `## LLM use: one vocabulary

` + "`arbor status`" + `, ` + "`arbor status --json`" + ` (object ` + "`llm`" + `), reports and the limits above use these words
and no others:

| word | JSON | counts |
|---|---|---|
| decisions | ` + "`decisions`" + ` | decisions settled by the online resolver, one call record each, including those that sent no request because a limit was reached |
| HTTP requests | ` + "`requests`" + ` | every request sent to the endpoint: first tries, retries and repairs, failed ones too; counted before it is sent, so one cut off by a kill counts. ` + "`llm.limits.max_calls`" + ` limits this |
| retries | ` + "`retries`" + ` | requests re-sent after 429, 5xx, 408, a timeout or a broken connection (` + "`llm.max_retries`" + ` per request) |
| repairs | ` + "`repairs`" + ` | requests that sent an invalid answer back with the error (` + "`llm.max_repairs`" + ` per decision) |
| fallbacks | ` + "`fallbacks`" + ` | decisions that ended in a seeded random valid choice: no valid answer after the repairs, or a limit reached |
| tokens | ` + "`tokens`" + ` | prompt + completion tokens as the server reports them; ` + "`llm.limits.max_tokens`" + ` limits this |
| usd | ` + "`usd`" + ` | US dollars from ` + "`llm.models`" + ` prices; ` + "`llm.limits.max_usd`" + ` and ` + "`evolve.budget.llm_usd`" + ` limit this |

Every string that comes from the endpoint (answers, rationales, error bodies) or from a child
process passes one redaction before it is stored, logged, printed or sent as an event: the
key named by ` + "`llm.api_key_env`" + `, any ` + "`Authorization`" + `/` + "`Bearer`" + ` value and ` + "`sk-…`" + ` shaped keys become ` + "`[redacted]`" + `.
`

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
