// Package llm turns a coarse decision made by the planner into one concrete
// choice among the options the tree tools enumerated. A language model is
// used as a tool here: it may only pick an offered option and fill its
// arguments within the stated ranges; every answer is validated, and nothing
// it writes is executed.
package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Category is the prompt category the planner picked for a decision.
type Category string

// The three prompt categories of the reference method.
const (
	Exploit   Category = "exploit"   // rely on the model's judgement
	Reverse   Category = "reverse"   // go against the lineage's recent directions
	Diversity Category = "diversity" // minimal model use, emphasis on diversity
)

// Categories lists the valid categories in a stable order.
func Categories() []Category { return []Category{Exploit, Reverse, Diversity} }

// Decision is what the engine asks a Resolver to settle: the planner has
// already chosen the operation and the category; the tools have listed the
// valid options. It is plain data so that the engine can translate tree
// options into it without this package knowing tree internals.
type Decision struct {
	Operation string        `json:"operation"` // e.g. swap_module, insert_module, change_hyperparameter
	Category  Category      `json:"category"`
	Parent    ParentSummary `json:"parent"`
	Options   []Option      `json:"options"`
	// Limits are the run's constraints (train.limits); each option's
	// child is shown with its distance to them.
	Limits ChildLimits `json:"limits,omitzero"`
	// Trial identifies the candidate this decision is for. It is mixed into
	// every seeded random draw so that concurrent workers stay deterministic
	// regardless of the order in which their calls happen.
	Trial int `json:"trial"`
}

// ChildLimits are the constraints every child must meet; 0 means none.
type ChildLimits struct {
	MaxParams int64 `json:"max_params,omitempty"`
	MaxFLOPs  int64 `json:"max_flops,omitempty"` // multiply-accumulates per image
}

// ChildCost is the size of the child an option (with one argument value)
// makes: it has been built and measured before the decision.
type ChildCost struct {
	Value  string `json:"value,omitempty"` // the argument value ("" for an option without one)
	Params int64  `json:"params"`
	FLOPs  int64  `json:"flops"`
}

// ParentSummary describes the parent architecture the change applies to.
type ParentSummary struct {
	Outline string             `json:"outline"` // indented tree, one node a line, with paths
	Metrics map[string]float64 `json:"metrics,omitempty"`
	History []Step             `json:"history,omitempty"` // recent lineage, oldest first
}

// Step is one past edit near the parent: in its lineage, or a child of it
// already tried.
type Step struct {
	Op        string  `json:"op"`
	Transform string  `json:"transform,omitempty"` // the tree transformation (change_arg, insert, ...)
	Path      string  `json:"path,omitempty"`
	Module    string  `json:"module,omitempty"`
	Arg       string  `json:"arg,omitempty"`    // change-arg: the argument
	Before    string  `json:"before,omitempty"` // change-arg: its value before the edit
	After     string  `json:"after,omitempty"`  // change-arg: its value after the edit
	Reward    float64 `json:"reward"`           // 1 when the child beat its parent
	// Delta is the child's validation accuracy minus its parent's, in points.
	Delta float64 `json:"delta"`
	// Tried marks a child of the parent (a sibling of the decision's
	// child); otherwise the step is one of the parent's ancestors.
	Tried bool   `json:"tried,omitempty"`
	Note  string `json:"note,omitempty"`
	// Replaced is what the edit took out (a swap's old node, with its
	// arguments) or defined (a compose's block), so a reverse prompt can
	// show what to go back to.
	Replaced string `json:"replaced,omitempty"`
}

// Option is one valid concrete transformation the tools enumerated.
type Option struct {
	ID          string      `json:"id"` // stable within the decision, e.g. "o3"
	Path        string      `json:"path"`
	Description string      `json:"description"`
	Module      *ModuleInfo `json:"module,omitempty"`
	Args        []ArgRange  `json:"args,omitempty"`
	// Transform is the tree transformation (change_arg, insert, swap,
	// delete, compose, ...); Arg and Current name a change-arg's argument
	// and its value now.
	Transform string `json:"transform,omitempty"`
	Node      string `json:"node,omitempty"` // the module ID or primitive insert and swap bring in
	Arg       string `json:"arg,omitempty"`
	Current   string `json:"current,omitempty"`
	// Uses counts how often the run has already edited this option's path
	// or brought in its module: what diversity minimises.
	Uses int `json:"uses,omitempty"`
	// Children are the sizes of the option's children, one per offered
	// argument value.
	Children []ChildCost `json:"children,omitempty"`
}

// ModuleInfo is the part of a mined module a model needs to judge it.
type ModuleInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Category  string `json:"category,omitempty"`
	Interface string `json:"interface,omitempty"` // constructor signature and forward shapes
	Source    string `json:"source,omitempty"`
}

// Argument types an ArgRange may have.
const (
	ArgInt    = "int"
	ArgFloat  = "float"
	ArgBool   = "bool"
	ArgString = "string"
	ArgEnum   = "enum"
	ArgInts   = "ints"
)

// ArgRange describes one argument the resolver must or may fill. A range is
// bounded only when Max > Min; Choices restricts enums and strings.
type ArgRange struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Min     float64  `json:"min,omitempty"`
	Max     float64  `json:"max,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Default any      `json:"default,omitempty"`
}

// Bounded reports whether numeric values must lie in [Min, Max].
func (a ArgRange) Bounded() bool { return a.Max > a.Min }

// Choice is a resolver's validated answer.
type Choice struct {
	OptionID  string         `json:"option_id"`
	Args      map[string]any `json:"args"` // int, float64, bool, string or []int
	Rationale string         `json:"rationale"`
	Usage     Usage          `json:"usage"`
}

// Usage is what a choice cost and how it came about.
type Usage struct {
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	CostUSD          float64       `json:"cost_usd"`
	Latency          time.Duration `json:"latency_ns"`
	Attempts         int           `json:"attempts"` // model answers received
	Requests         int           `json:"requests"` // HTTP requests sent: first tries, retries and repairs
	Retries          int           `json:"retries"`  // requests re-sent after 429, 5xx, timeouts
	Repairs          int           `json:"repairs"`  // requests that sent an invalid answer back
	Fallback         bool          `json:"fallback"` // the choice is a seeded random one, not the model's
	// Degraded says why the model was not asked at all (spend limit reached);
	// empty when it was.
	Degraded string `json:"degraded,omitempty"`
	Model    string `json:"model"`
}

// Option returns the option with the given ID.
func (d *Decision) Option(id string) (*Option, bool) {
	for i := range d.Options {
		if d.Options[i].ID == id {
			return &d.Options[i], true
		}
	}
	return nil, false
}

// Validate checks that a decision can be resolved: a known category, at least
// one option, unique option IDs and well-formed argument ranges.
func (d *Decision) Validate() error {
	if !slices.Contains(Categories(), d.Category) {
		return fmt.Errorf("decision.category: %q is not one of exploit, reverse, diversity", d.Category)
	}
	if d.Operation == "" {
		return errors.New("decision.operation: must not be empty")
	}
	if len(d.Options) == 0 {
		return errors.New("decision.options: at least one option is needed")
	}
	seen := make(map[string]bool, len(d.Options))
	for i, o := range d.Options {
		if o.ID == "" {
			return fmt.Errorf("decision.options[%d].id: must not be empty", i)
		}
		if seen[o.ID] {
			return fmt.Errorf("decision.options[%d].id: %q is used twice", i, o.ID)
		}
		seen[o.ID] = true
		names := make(map[string]bool, len(o.Args))
		for j, a := range o.Args {
			where := fmt.Sprintf("decision.options[%d].args[%d]", i, j)
			if a.Name == "" {
				return fmt.Errorf("%s.name: must not be empty", where)
			}
			if names[a.Name] {
				return fmt.Errorf("%s.name: %q is listed twice", where, a.Name)
			}
			names[a.Name] = true
			if err := a.check(); err != nil {
				return fmt.Errorf("%s (%s): %w", where, a.Name, err)
			}
		}
	}
	return nil
}

func (a ArgRange) check() error {
	switch a.Type {
	case ArgInt, ArgFloat, ArgInts:
		if math.IsNaN(a.Min) || math.IsNaN(a.Max) || math.IsInf(a.Min, 0) || math.IsInf(a.Max, 0) {
			return errors.New("min/max must be finite")
		}
		if a.Max < a.Min {
			return fmt.Errorf("max %v is below min %v", a.Max, a.Min)
		}
	case ArgEnum:
		if len(a.Choices) == 0 {
			return errors.New("an enum needs choices")
		}
	case ArgBool, ArgString:
	default:
		return fmt.Errorf("type %q is not one of int, float, bool, string, enum, ints", a.Type)
	}
	if a.Default != nil {
		if _, err := coerceArg(a, a.Default); err != nil {
			return fmt.Errorf("default: %w", err)
		}
	}
	return nil
}

// ReadDecision decodes a decision from JSON and validates it.
func ReadDecision(data []byte) (Decision, error) {
	var d Decision
	if err := json.Unmarshal(data, &d); err != nil {
		return Decision{}, fmt.Errorf("decode decision: %w", err)
	}
	if err := d.Validate(); err != nil {
		return Decision{}, err
	}
	return d, nil
}
