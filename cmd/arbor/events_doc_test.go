package main

import (
	"fmt"
	"strings"
)

// The --json stream's documentation, docs/events.md, is generated here and
// checked by TestEventsDocUpToDate (-update rewrites it).

// eventFieldDocs documents every field of the --json stream, in order. A
// test fails when store.Event gains a JSON field missing here.
func eventFieldDocs() []fieldDoc {
	return []fieldDoc{
		{"schema", "string", "always", "`" + eventSchema + "`; the version of this format."},
		{"time", "string", "always", "RFC 3339 time of the event, UTC."},
		{"kind", "string", "always", "run-started, resumed, candidate-proposed, candidate-rejected, candidate-started, candidate-finished, best-improved, budget-reached, draining or run-finished."},
		{"candidate_id", "string", "candidate events", "The candidate's ID (c00042), stable within the run."},
		{"parent_id", "string", "candidate events", "Its parent's ID; absent for seeds."},
		{"op", "string", "candidate events", "How the candidate was made: seed; sample (a fresh draw from the search space: random search, the start of evolution's population, a local-search restart); the planner's operations change-arg, swap, insert, delete, compose, repeat; or codegen."},
		{"category", "string", "candidate-proposed", "The prompt category: exploit, reverse or diversity."},
		{"path", "string", "candidate events", "Where in the tree the operation applied, e.g. /stage2/block1."},
		{"module", "string", "candidate events", "The catalog module inserted or swapped in, if any."},
		{"gate", "string", "candidate-rejected", "The gate stage that stopped it: proposal, shape, space, constraints, duplicate or dry-run."},
		{"reason", "string", "candidate-rejected", "Why, in words."},
		{"status", "string", "candidate-finished", "The evaluator's status: ok, or a failure class (build-error, oom, timeout, ...)."},
		{"val_acc", "number", "candidate-finished, best-improved", "Validation accuracy in percent."},
		{"params", "integer", "candidate events", "Parameter count."},
		{"flops", "integer", "candidate events", "FLOPs (multiply-accumulates) of one forward pass."},
		{"wall_s", "number", "candidate-finished", "Training wall time in seconds."},
		{"trained", "integer", "always", "Candidates the evaluator has finished so far (the training budget's unit)."},
		{"budget", "integer", "always", "The training budget (evolve.budget.trained); 0: none."},
		{"in_flight", "integer", "always", "Candidates proposed or training now."},
		{"rejected", "integer", "always", "Proposals the gate has rejected so far."},
		{"best_val_acc", "number", "always", "Best validation accuracy so far, in percent (0 before the first)."},
		{"llm_cost", "number", "when non-zero", "LLM spend so far, in US dollars."},
		{"message", "string", "some events", "Human-readable detail (why the run stopped, a failure's error)."},
	}
}

// fieldDoc documents one field of a JSON format.
type fieldDoc struct {
	Name, Type, When, Doc string
}

// eventsMarkdown is docs/events.md.
func eventsMarkdown() string {
	var b strings.Builder
	b.WriteString("# The `--json` event stream\n\n<!-- Generated from cmd/arbor/events_doc_test.go (eventFieldDocs); a test fails when it is stale. -->\n\n")
	b.WriteString("`arbor evolve --json` writes one JSON object per line on stdout, one per engine event, and nothing else there\n")
	b.WriteString("(logs go to stderr). Every object carries `\"schema\": \"" + eventSchema + "\"`. Within a schema version fields are\n")
	b.WriteString("never renamed or retyped; new fields may be added, so ignore fields you do not know. Fields that do not apply\n")
	b.WriteString("to an event are omitted (numbers and strings that are zero or empty), except those marked *always*.\n\n")
	b.WriteString("| field | type | present | meaning |\n|---|---|---|---|\n")
	for _, f := range eventFieldDocs() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, f.When, mdEscape(f.Doc))
	}
	b.WriteString("\nExample (one line, wrapped here):\n\n```json\n")
	b.WriteString(`{"schema":"` + eventSchema + `","time":"2026-11-27T05:50:01.2Z","kind":"candidate-finished","candidate_id":"c00611",` + "\n" +
		` "parent_id":"c00229","op":"change-arg","path":"/stage1/cell0","status":"ok","val_acc":82.18,"params":559386,` + "\n" +
		` "flops":78676480,"wall_s":41.2,"trained":57,"budget":60,"in_flight":3,"rejected":591,"best_val_acc":84.6}` + "\n```\n")
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
