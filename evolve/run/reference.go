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

// The configuration reference has one source, the config structs: the key
// list comes from reflecting over Config's mapstructure tags, the types and
// defaults from Default, and the prose from the doc comment on each field
// (fielddocs.go, which go generate extracts from the source). `arbor config
// init`, `arbor config docs` and docs/configuration.md are all generated
// from it, and tests fail when a field has no comment or a generated file
// is stale.

//go:generate go test -run TestFieldDocsUpToDate -update .

// KeyDoc is one leaf key of the schema.
type KeyDoc struct {
	Key     string // dotted, as in YAML and ARBOR_ env names
	Type    string // for people: string, integer, duration, ...
	Default string // YAML literal of the default
	Doc     string
}

// Reference lists every leaf key of Config in schema order. It fails when
// a key or section has no doc, or a doc names a key the schema lost; the
// list is complete either way, so the commands still work (a test catches
// the gap).
func Reference() ([]KeyDoc, error) {
	return referenceOf(Default(), keyDocs(), sectionDocs())
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
		errs = append(errs, "no documentation for "+strings.Join(missing, ", ")+" (write a doc comment on the field, then run go generate ./evolve/run)")
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
# Relative paths in this file are relative to its folder; in flags and ARBOR_
# variables, to the working directory.
`)
	secDocs := sectionDocs()
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
the doc comments of its fields; do not edit by hand (a test fails when this file is stale). -->

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

` + PathRule + `

`)
	secDocs := sectionDocs()
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
key (from ` + "`llm.api_key_file`" + ` or the variable named by ` + "`llm.api_key_env`" + `), any ` + "`Authorization`" + `/` + "`Bearer`" + ` value,
` + "`sk-…`" + ` shaped keys, and the credentials of any URL (user:password@, and query keys such as ` + "`token`" + `,
` + "`key`" + ` or ` + "`api_key`" + `) become ` + "`[redacted]`" + `. The stored copy of ` + "`llm.base_url`" + ` is redacted too; a
` + "`--resume`" + ` of a run whose URL held credentials reads the full URL from ` + "`ARBOR_LLM_BASE_URL`" + `.
`

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
