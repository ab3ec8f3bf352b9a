package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
)

// TestStoredBaseURLRedacted: credentials in llm.base_url never reach the
// run store; a resume takes the full URL from ARBOR_LLM_BASE_URL, and says
// so when it is missing.
func TestStoredBaseURLRedacted(t *testing.T) {
	ctx := context.Background()
	cfg := Default()
	cfg.Run.Dir = filepath.Join(t.TempDir(), "run")
	cfg.LLM.BaseURL = "http://alice:S3cretPass@llm.local:8000/v1?token=T0ken99"
	cfg.LLM.Model = "m"
	db, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := os.ReadFile(filepath.Join(cfg.Run.Dir, store.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"S3cretPass", "T0ken99", "alice"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the run store holds %q", secret)
		}
	}
	t.Setenv(baseURLEnv, "")
	if _, _, err := Resume(ctx, cfg.Run.Dir, nil); err == nil || !strings.Contains(err.Error(), baseURLEnv) {
		t.Errorf("resume without the URL: %v, want an error naming %s", err, baseURLEnv)
	}
	t.Setenv(baseURLEnv, cfg.LLM.BaseURL)
	db, got, err := Resume(ctx, cfg.Run.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got.LLM.BaseURL != cfg.LLM.BaseURL {
		t.Errorf("resumed base_url %q, want the full one from %s", got.LLM.BaseURL, baseURLEnv)
	}
}
