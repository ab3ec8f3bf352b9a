package run

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/arbor-nas/arbor/evolve/names"
	"github.com/arbor-nas/arbor/train"
)

// UnknownEnv returns a warning for every ARBOR_ variable of environ (as
// os.Environ gives it) that arbor does not read: viper would ignore a
// misspelt override without a word. Each warning names the variable and,
// when one is near, the variable that was probably meant.
func UnknownEnv(environ []string) []string {
	// Besides the configuration keys, arbor reads the NAS-Bench-201 table's
	// path and serve's token (dashboard.TokenEnv; run cannot import the
	// dashboard); its tests read the others and those with testPrefix.
	other := []string{train.NB201TableEnv, "ARBOR_SERVE_TOKEN", "ARBOR_BROWSER_TESTS", "ARBOR_SCREENSHOTS", "ARBOR_SCREENSHOT_RUN", "ARBOR_CHROMIUM", "ARBOR_SLURM_CONF"}
	testPrefix := []string{"ARBOR_TEST_", "ARBOR_SLURM_HELPER_"}
	known := map[string]bool{}
	flatten(reflect.ValueOf(Default()), "", func(key string, _ any) { known[EnvName(key)] = true })
	for _, n := range other {
		known[n] = true
	}
	all := slices.Sorted(maps.Keys(known))
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || known[name] || slices.ContainsFunc(testPrefix, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		// A credential (llm.api_key_env may name any variable) is no
		// override: ARBOR_LLM_API_KEY, ARBOR_TRY_KEY, ..._TOKEN.
		if slices.ContainsFunc([]string{"_KEY", "_TOKEN", "_SECRET"}, func(s string) bool { return strings.HasSuffix(name, s) }) {
			continue
		}
		out = append(out, fmt.Sprintf("environment variable %s is not a configuration key and is ignored%s (ARBOR_SECTION_KEY overrides section.key; arbor config docs lists the keys)",
			name, names.Hint(name, all)))
	}
	slices.Sort(out)
	return out
}
