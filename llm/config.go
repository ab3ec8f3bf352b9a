package llm

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the `llm:` section of the arbor configuration. With no base_url
// the offline resolver is used and nothing is sent over the network.
type Config struct {
	// OpenAI-compatible endpoint, e.g. https://api.openai.com/v1,
	// http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama);
	// empty: offline resolver.
	BaseURL string `mapstructure:"base_url" yaml:"base_url"`
	// Model name; shorthand for one entry in llm.models with weight 1.
	Model string `mapstructure:"model" yaml:"model"`
	// Models calls are shared among, each `{name, weight, input_usd_per_mtok,
	// output_usd_per_mtok}` (prices in USD per million tokens, used for spend
	// accounting). Set this or llm.model.
	Models []ModelConfig `mapstructure:"models" yaml:"models"`
	// Name of the environment variable holding the API key; the key itself
	// never appears in configs, logs or records.
	APIKeyEnv string `mapstructure:"api_key_env" yaml:"api_key_env"`
	// File holding the API key, read at start; when set it is used instead
	// of api_key_env, so the key is not in arbor's environment at all (where
	// code that escaped the sandbox could read it in /proc).
	APIKeyFile string `mapstructure:"api_key_file" yaml:"api_key_file"`
	// Sampling temperature.
	Temperature float64 `mapstructure:"temperature" yaml:"temperature"`
	// Maximum tokens of one answer.
	MaxTokens int `mapstructure:"max_tokens" yaml:"max_tokens"`
	// Timeout of one HTTP call.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"` // per HTTP call
	// Ask for JSON-schema structured output (response_format); leave off for
	// servers that do not support it.
	Structured bool `mapstructure:"structured" yaml:"structured"`
	// Times an invalid answer is sent back with the error before a random
	// valid option is used (and recorded as a fallback).
	MaxRepairs int `mapstructure:"max_repairs" yaml:"max_repairs"`
	// Retries of a failed HTTP call (429, 5xx, timeouts) with exponential
	// backoff.
	MaxRetries int `mapstructure:"max_retries" yaml:"max_retries"`
	// First retry delay; it doubles with each retry.
	BackoffBase time.Duration `mapstructure:"backoff_base" yaml:"backoff_base"`
	// Longest retry delay.
	BackoffMax time.Duration `mapstructure:"backoff_max" yaml:"backoff_max"`
	// Seed of model selection and the offline resolver; `arbor evolve` sets
	// it to evolve.seed.
	Seed uint64 `mapstructure:"seed" yaml:"seed"`
	// Spending caps over the whole run, kept in the run store so they hold
	// across kill -9 and --resume (a request counts before it is sent); 0
	// means unlimited. When a cap would be exceeded, the offline resolver
	// decides instead (counted as fallbacks). The words are those of the
	// LLM-use vocabulary at the end of this reference.
	Limits Limits `mapstructure:"limits" yaml:"limits"`
	// Prompt rendering and its token budget.
	Prompts PromptConfig `mapstructure:"prompts" yaml:"prompts"`
	// The offline resolver (used when no endpoint is configured, and as the
	// fallback).
	Offline OfflineConfig `mapstructure:"offline" yaml:"offline"`
	// Keep the full prompt and answer in the run store's call records.
	RecordText bool `mapstructure:"record_text" yaml:"record_text"`
	// With record_text, cut each prompt and answer to this many bytes.
	RecordMaxBytes int `mapstructure:"record_max_bytes" yaml:"record_max_bytes"`
}

// ModelConfig is one model calls are shared among, with its price.
type ModelConfig struct {
	Name   string  `mapstructure:"name" yaml:"name"`
	Weight float64 `mapstructure:"weight" yaml:"weight"`
	// Prices in USD per million tokens.
	InputUSDPerMTok  float64 `mapstructure:"input_usd_per_mtok" yaml:"input_usd_per_mtok"`
	OutputUSDPerMTok float64 `mapstructure:"output_usd_per_mtok" yaml:"output_usd_per_mtok"`
}

// Cost is the price of one call in USD.
func (m ModelConfig) Cost(promptTokens, completionTokens int) float64 {
	return (float64(promptTokens)*m.InputUSDPerMTok + float64(completionTokens)*m.OutputUSDPerMTok) / 1e6
}

// Limits caps spending over the whole run; zero means unlimited. They are
// checked before each call against what has been spent plus the worst case
// of the call about to be made.
type Limits struct {
	// Most HTTP requests in the run: every request counts (first tries,
	// retries, repairs, failed ones), not decisions.
	MaxCalls int `mapstructure:"max_calls" yaml:"max_calls"`
	// Most tokens (prompt + completion, as the server reports them) in the
	// run; a request in flight counts at its worst case until it settles.
	MaxTokens int `mapstructure:"max_tokens" yaml:"max_tokens"`
	// Most US dollars (usd) spent in the run, from llm.models prices.
	MaxUSD float64 `mapstructure:"max_usd" yaml:"max_usd"`
}

// PromptConfig controls prompt rendering and its token budget.
type PromptConfig struct {
	// Directory whose *.tmpl files replace the embedded prompt templates of
	// the same name.
	Dir string `mapstructure:"dir" yaml:"dir"`
	// Cap on each module's source in the prompt, in tokens.
	MaxSourceTokens int `mapstructure:"max_source_tokens" yaml:"max_source_tokens"`
	// Cap on the whole prompt, in tokens; sources are cut and then options
	// dropped until it fits.
	MaxPromptTokens int `mapstructure:"max_prompt_tokens" yaml:"max_prompt_tokens"`
}

// OfflineConfig sets the offline resolver's preferences.
type OfflineConfig struct {
	// How the offline resolver fills arguments: `uniform` (draw within each
	// range) or `defaults` (declared defaults where given).
	Args string `mapstructure:"args" yaml:"args"`
	// How the offline resolver follows the prompt category: `categories`
	// (exploit: the option nearest the winning edits; reverse: the one
	// undoing the last losing edit; diversity: the least explored path or
	// module) or `uniform` (a uniform draw whatever the category, for
	// ablations).
	Policy string `mapstructure:"policy" yaml:"policy"`
	// With an endpoint, resolve diversity decisions with the offline
	// `categories` rule instead of a call (the method's minimal LLM use).
	Diversity bool `mapstructure:"diversity" yaml:"diversity"`
}

// DefaultConfig is offline: no endpoint, so no network and no spend.
func DefaultConfig() Config {
	return Config{
		APIKeyEnv:      "OPENAI_API_KEY",
		Temperature:    0.7,
		MaxTokens:      400,
		Timeout:        60 * time.Second,
		MaxRepairs:     2,
		MaxRetries:     5,
		BackoffBase:    500 * time.Millisecond,
		BackoffMax:     30 * time.Second,
		Seed:           1,
		RecordMaxBytes: 16 << 10,
		Prompts: PromptConfig{
			MaxSourceTokens: 400,
			MaxPromptTokens: 6000,
		},
		Offline: OfflineConfig{Args: "uniform", Policy: PolicyCategories},
	}
}

// Online reports whether an endpoint is configured.
func (c Config) Online() bool { return c.BaseURL != "" }

// ModelList returns the weighted models, folding in the Model shorthand.
func (c Config) ModelList() []ModelConfig {
	if len(c.Models) > 0 {
		return c.Models
	}
	if c.Model == "" {
		return nil
	}
	return []ModelConfig{{Name: c.Model, Weight: 1}}
}

// Validate checks every field and names the key at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("llm.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		bad("base_url", "%q must start with http:// or https://", c.BaseURL)
	}
	if c.Online() && len(c.ModelList()) == 0 {
		bad("model", "must be set (or llm.models) when llm.base_url is set")
	}
	if c.Model != "" && len(c.Models) > 0 {
		bad("model", "set either llm.model or llm.models, not both")
	}
	names := map[string]bool{}
	var total float64
	for i, m := range c.Models {
		key := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			bad(key+".name", "must not be empty")
		}
		if names[m.Name] {
			bad(key+".name", "%q is listed twice", m.Name)
		}
		names[m.Name] = true
		if m.Weight < 0 {
			bad(key+".weight", "must be >= 0")
		}
		total += m.Weight
		if m.InputUSDPerMTok < 0 || m.OutputUSDPerMTok < 0 {
			bad(key, "prices must be >= 0")
		}
		if c.Limits.MaxUSD > 0 && m.InputUSDPerMTok == 0 && m.OutputUSDPerMTok == 0 {
			bad(key+".input_usd_per_mtok", "set the model's prices when llm.limits.max_usd is set")
		}
	}
	if len(c.Models) > 0 && total <= 0 {
		bad("models", "at least one weight must be > 0")
	}
	if c.Limits.MaxUSD > 0 && c.Model != "" {
		bad("limits.max_usd", "needs per-model prices: use llm.models with input_usd_per_mtok/output_usd_per_mtok")
	}
	if c.Online() && c.APIKeyEnv == "" {
		bad("api_key_env", "must name an environment variable (default OPENAI_API_KEY)")
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		bad("temperature", "must be in [0, 2]")
	}
	if c.MaxTokens < 16 {
		bad("max_tokens", "must be >= 16")
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be > 0 (e.g. 60s)")
	}
	if c.MaxRepairs < 0 {
		bad("max_repairs", "must be >= 0")
	}
	if c.MaxRetries < 0 {
		bad("max_retries", "must be >= 0")
	}
	if c.BackoffBase <= 0 {
		bad("backoff_base", "must be > 0")
	}
	if c.BackoffMax < c.BackoffBase {
		bad("backoff_max", "must be >= llm.backoff_base")
	}
	if c.Limits.MaxCalls < 0 {
		bad("limits.max_calls", "must be >= 0 (0 = unlimited)")
	}
	if c.Limits.MaxTokens < 0 {
		bad("limits.max_tokens", "must be >= 0 (0 = unlimited)")
	}
	if c.Limits.MaxUSD < 0 {
		bad("limits.max_usd", "must be >= 0 (0 = unlimited)")
	}
	if c.Prompts.MaxSourceTokens < 0 {
		bad("prompts.max_source_tokens", "must be >= 0")
	}
	if c.Prompts.MaxPromptTokens < 200 {
		bad("prompts.max_prompt_tokens", "must be >= 200")
	}
	if c.Offline.Args != "uniform" && c.Offline.Args != "defaults" {
		bad("offline.args", "%q must be uniform or defaults", c.Offline.Args)
	}
	if c.Offline.Policy != PolicyCategories && c.Offline.Policy != PolicyUniform {
		bad("offline.policy", "%q must be %s or %s", c.Offline.Policy, PolicyCategories, PolicyUniform)
	}
	if c.RecordText && c.RecordMaxBytes < 1 {
		bad("record_max_bytes", "must be >= 1 when llm.record_text is true")
	}
	return errors.Join(errs...)
}
