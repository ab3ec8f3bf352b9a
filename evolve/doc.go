// Package evolve is the search engine: the steady-state loop, the
// hierarchical Thompson-sampling planner, parent selection, the
// validation and dedup gate, budgets, resume and the baseline strategies;
// the run store it writes is evolve/store. It never knows how a candidate
// is trained: it talks only to train.Evaluator (and, optionally, a dry-run
// gate).
//
// # The loop
//
// Engine.Run keeps up to Config.Parallel candidates in flight. Each new
// candidate: a parent is drawn from the feasible archive (top-k or
// tournament); the Planner draws an operation, then a prompt category;
// tree.Options enumerates the valid options (insert and swap bring in the
// primitive palette plus a fresh seeded sample of catalog modules); each
// option is applied and its child put through the cheap gate first:
// shapes, the evaluator's space (Engine.Arch), constraints (Job.Limits
// max_params/max_flops), and dedup by structural hash and by
// whitespace-normalized code hash against every candidate ever proposed
// (offers.go). Only a bounded, diverse sample of the options that passed
// goes to the llm.Resolver, so it is never shown a child the gate would
// reject; its choice is applied, and that one child then gets the dry run
// in PyTorch before it is queued for training. A rejected candidate is
// stored with its stage and reason, counts as a planner failure and costs
// no training budget.
//
// # Strategies
//
// What to propose is a Strategy's decision (strategy.go): each built-in
// strategy is one file (strategy_<name>.go) holding its type, its
// constructor, which takes its own configuration section and its
// dependencies, and its StrategyDef, which says what it requires; Builtins
// lists them, and NewStrategy checks the requirements when a run is
// assembled (run.Build, bench). A strategy sees the run only through the
// public Env: the archive (Env.Feasible, Env.Ranked, Env.SelectParent),
// parsed trees, seeded random streams (Env.Rand), the planner, and the
// option tools (Env.PlannedOffers, Env.UniformOffers, Env.Offers,
// Env.Resolve, Env.Mutate, Env.Draw, Env.Gate). Engine.Strategy takes any
// strategy, built-in or not; strategytest.Run checks one. The engine owns
// the dry run, the store, budgets and rewards.
//
// # Storage and crashes
//
// Every change is one SQLite transaction (Store.Apply): a proposal is
// stored with the planner state it left behind; a result is stored with
// the planner's update and its events. A job's start is stored (attempts+1)
// before the job runs. So a killed process loses at most the jobs in
// flight, and resume re-queues them: a job lost because arbor died says
// nothing sure about the candidate, so it counts in Candidate.Interrupted,
// not as a failure. Only the job's own evidence (exit status, a signal from
// the pool, OOM) fails a candidate, with one exception, the poison pill: a
// candidate in flight at evolve.quarantine_after (default 3) deaths of
// arbor in a row is quarantined (failed with that reason, never retried),
// since it may be what kills the process. Jobs cut short by a drain
// (Ctrl-C) are re-queued and end such a streak.
//
// # Determinism
//
// Every random draw of a proposal comes from a stream keyed by the run
// seed and the proposal number (parent, options sample, palette, offline
// resolver via Decision.Trial), except the planner's, whose PCG state is
// saved with every write. Hence:
//
//   - with Parallel = 1, the same seed, resolver and a deterministic
//     evaluator give the identical sequence of candidates, hashes and
//     outcomes, and a resumed run continues exactly as an uninterrupted
//     one would (tested);
//   - with Parallel > 1, proposals depend on which jobs have finished when
//     a slot frees up; given the same completion order the sequence is the
//     same, but completion order itself is not controlled.
package evolve
