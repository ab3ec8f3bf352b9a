package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
)

func TestStatusJSON(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rows := []store.Candidate{
		{Seq: 1, ID: "c00001", Op: store.OpSeed, Gate: store.GatePass, Status: store.StatusTrained, Params: 1000, Result: train.Result{Status: train.StatusOK, ValAcc: 80}},
		{Seq: 2, ID: "c00002", Op: store.OpSwap, Gate: store.GatePass, Status: store.StatusTrained, Params: 900, Result: train.Result{Status: train.StatusOK, ValAcc: 85.5}},
		{Seq: 3, ID: "c00003", Op: store.OpInsert, Gate: store.GatePass, Status: store.StatusFailed, Result: train.Result{Status: train.StatusOOM}},
		{Seq: 4, ID: "c00004", Op: store.OpInsert, Gate: store.GateDuplicate, Status: store.StatusRejected},
		{Seq: 5, ID: "c00005", Op: store.OpDelete, Gate: store.GateShape, Status: store.StatusRejected},
		{Seq: 6, ID: "c00006", Op: store.OpDelete, Gate: store.GateShape, Status: store.StatusRejected},
		{Seq: 7, ID: "c00007", Op: store.OpSwap, Gate: store.GatePass, Status: store.StatusPending},
	}
	for i := range rows {
		rows[i].ProposedAt = now
		if err := st.Apply(ctx, store.Write{Insert: &rows[i]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []int{100, 250} {
		if err := st.LogCall(llm.CallRecord{Time: now, Model: "m", Trial: 2, TokensIn: tok, TokensOut: 10, CostUSD: 0.01, Outcome: llm.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	// status reads while the writer still has the store open.
	root := newRootCmd()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"status", dir, "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var got struct {
		State            string         `json:"state"`
		Trained          int            `json:"trained"`
		ByStatus         map[string]int `json:"by_status"`
		RejectedByReason map[string]int `json:"rejected_by_reason"`
		Best             struct {
			ID     string  `json:"id"`
			ValAcc float64 `json:"val_acc"`
			Params int64   `json:"params"`
		} `json:"best"`
		LLM struct {
			Decisions int     `json:"decisions"`
			Requests  int     `json:"requests"`
			Tokens    int     `json:"tokens"`
			Cost      float64 `json:"usd"`
		} `json:"llm"`
	}
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got.State != "running" { // the writer holds the run while status reads
		t.Errorf("state %q while the writer has the run open", got.State)
	}
	if got.Trained != 3 || got.ByStatus["rejected"] != 3 || got.ByStatus["pending"] != 1 ||
		got.RejectedByReason["shape"] != 2 || got.RejectedByReason["duplicate"] != 1 {
		t.Fatalf("counts wrong: %s", out.String())
	}
	if got.Best.ID != "c00002" || got.Best.ValAcc != 85.5 || got.Best.Params != 900 {
		t.Fatalf("best wrong: %+v", got.Best)
	}
	if got.LLM.Decisions != 2 || got.LLM.Tokens != 370 || got.LLM.Cost < 0.0199 || got.LLM.Cost > 0.0201 {
		t.Fatalf("llm wrong: %+v", got.LLM)
	}
}
