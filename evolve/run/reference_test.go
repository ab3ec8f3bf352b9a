package run

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/viper"

	"github.com/arbor-nas/arbor/evolve"
)

// The -update flag rewrites generated files (docs).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite generated files and goldens")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestConfigReferenceIsComplete(t *testing.T) {
	keys, err := Reference()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 90 {
		t.Fatalf("only %d keys documented", len(keys))
	}
	for _, k := range keys {
		if k.Doc == "" || k.Type == "" || k.Default == "" {
			t.Errorf("key %s: incomplete entry %+v", k.Key, k)
		}
	}
}

// TestConfigDocsUpToDate fails when docs/configuration.md differs from
// what the schema generates; go test ./evolve/run -run ConfigDocs -update
// rewrites it.
func TestConfigDocsUpToDate(t *testing.T) {
	keys, err := Reference()
	if err != nil {
		t.Fatal(err)
	}
	want := Markdown(keys)
	path := filepath.Join("..", "..", "docs", "configuration.md")
	if updating() {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./evolve/run -run ConfigDocs -update)", err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: regenerate it with `go test ./evolve/run -run ConfigDocs -update` or `arbor config docs -o docs/configuration.md`", path)
	}
	for _, k := range keys {
		if !strings.Contains(want, "`"+k.Key+"`") || !strings.Contains(want, EnvName(k.Key)) {
			t.Errorf("reference lacks key %s or its variable %s", k.Key, EnvName(k.Key))
		}
	}
}

// TestConfigInitRoundTrip: the commented default that `arbor config init`
// writes has every key at its default and loads back to Default().
func TestConfigInitRoundTrip(t *testing.T) {
	keys, _ := Reference()
	text := CommentedDefault(keys)
	for _, k := range keys {
		leaf := k.Key[strings.LastIndexByte(k.Key, '.')+1:]
		if !strings.Contains(text, leaf+": "+k.Default+"\n") {
			t.Errorf("init output lacks %s with its default %s", k.Key, k.Default)
		}
	}
	if strings.Count(text, "\n#")+strings.Count(text, "  #") < len(keys) {
		t.Errorf("init output has fewer comment lines than keys")
	}
	path := filepath.Join(t.TempDir(), "arbor.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("the written default does not load: %v", err)
	}
	def := Default() // its relative paths, read from the file, are the file's folder's
	resolvePaths(&def, filepath.Dir(path), func(string) bool { return true })
	if got, want := flatConfig(cfg), flatConfig(def); !reflect.DeepEqual(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: loaded %s, default %s", k, got[k], want[k])
			}
		}
	}
}

func flatConfig(c Config) map[string]string {
	m := map[string]string{}
	flatten(reflect.ValueOf(c), "", func(k string, v any) { m[k] = fmt.Sprint(v) })
	return m
}

func TestConfigReferenceFailsOnUndocumentedKey(t *testing.T) {
	type sub struct {
		A int `mapstructure:"a"`
	}
	type fake struct {
		S sub    `mapstructure:"s"`
		B string `mapstructure:"b"`
	}
	_, err := referenceOf(fake{}, map[string]string{"s.a": "doc", "gone": "old"}, map[string]string{"s": "section"})
	if err == nil || !strings.Contains(err.Error(), "no documentation for b") || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("want an error naming the undocumented key b and the stale doc gone, got %v", err)
	}
	if _, err := referenceOf(fake{}, map[string]string{"s.a": "x", "b": "y"}, nil); err == nil || !strings.Contains(err.Error(), "s (section)") {
		t.Fatalf("want an error for the undocumented section s, got %v", err)
	}
}

// FuzzYAMLLiteral: a string default written by config init reads back
// through viper as the same string.
func FuzzYAMLLiteral(f *testing.F) {
	for _, s := range []string{"", "runs/run", "true", "no", "1e3", "0x10", "a: b", "#x", " lead", "trail ", "quote\"d", "tab\tx", "ünï", "~", "[a]", "-", "- a", "@x", "null"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0xFEFF) {
			t.Skip("configuration values are UTF-8 text") // skip-ok: a fuzz input outside the domain, not a dependency
		}
		v := viper.New()
		v.SetConfigType("yaml")
		lit := yamlLiteral(s)
		if err := v.ReadConfig(strings.NewReader("k: " + lit + "\n")); err != nil {
			t.Fatalf("%q written as %s does not parse: %v", s, lit, err)
		}
		got, ok := v.Get("k").(string)
		if s == "" && v.Get("k") == nil {
			t.Fatalf("empty string written as %s reads back as null", lit)
		}
		if !ok || got != s {
			t.Fatalf("%q written as %s reads back as %#v", s, lit, v.Get("k"))
		}
	})
}

// TestStrategyDocNamesEvery: evolve.strategy's documentation names every
// built-in strategy, so a new one cannot be left out of it.
func TestStrategyDocNamesEvery(t *testing.T) {
	doc := keyDocs()["evolve.strategy"]
	for _, name := range evolve.StrategyNames() {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("evolve.strategy's doc does not name %s: %s", name, doc)
		}
	}
}
