package dashboard

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
)

// TestStoppedRunSaysSo: a run without a run-finished event is "running"
// while a process holds its lock, and "stopped" with the resume command
// (and no ETA) once none does, as after a kill -9.
func TestStoppedRunSaysSo(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "r")
	db, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.Apply(context.Background(), store.Write{Events: []store.Event{
		{Time: now, Kind: store.EventRunStarted, Budget: 10},
		{Time: now, Kind: store.EventStarted, CandidateID: "c00001", Budget: 10, InFlight: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	get := func() overview {
		t.Helper()
		var ov overview
		_, body := httpGet(t, hs.URL+"/api/run/overview?run="+filepath.Base(root)+"/r", nil)
		if err := json.Unmarshal([]byte(body), &ov); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return ov
	}
	if ov := get(); ov.State != string(store.RunRunning) {
		t.Errorf("while the writer is open: state %q, want running", ov.State)
	}
	if err := db.Close(); err != nil { // the lock goes, as with kill -9
		t.Fatal(err)
	}
	ov := get()
	if ov.State != string(store.RunStopped) || !strings.Contains(ov.StopReason, "arbor evolve --resume") || ov.ETAS != -1 {
		t.Errorf("after the writer is gone: state %q, reason %q, ETA %v; want stopped with the resume command and no ETA", ov.State, ov.StopReason, ov.ETAS)
	}
}
