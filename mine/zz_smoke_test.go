package mine

import (
	"context"
	"fmt"
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	roots := []string{os.Getenv("ROOT")}
	cfg := DefaultConfig()
	cat, st, err := Mine(context.Background(), roots, cfg, Options{CachePath: os.Getenv("CACHE")})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PROBE") != "" {
		if err := ProbeCatalog(context.Background(), cat, cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		for _, m := range cat.Modules {
			if m.Usable != nil {
				fmt.Println("PROBE", m.QualName, *m.Usable, m.ProbeErr)
			}
		}
	}
	n, ok, u := cat.Counts()
	fmt.Println("usable", u)
	fmt.Println("files", st.Files, "parsed", st.Parsed, "cached", st.Cached, "modules", n, "ok", ok, "sec", st.Seconds)
	byStatus := map[string]int{}
	for _, m := range cat.Modules {
		byStatus[m.Status]++
		if m.Status != "ok" && os.Getenv("V") != "" {
			fmt.Println(m.QualName, m.Status, m.Reason)
		}
	}
	fmt.Println(byStatus, len(cat.Warnings))
	if p := os.Getenv("OUT"); p != "" {
		cat.Save(p)
	}
}
