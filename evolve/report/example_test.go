package report_test

import (
	"context"
	"fmt"
	"log"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
)

// A Go program (or notebook) draws the figures of a run, here as SVG files
// of 6 by 4 inches, while the search may still be writing the run.
func ExampleFigures() {
	dir := "runs/demo"
	store, err := run.OpenReadOnly(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	data, err := report.ReadData(context.Background(), dir, store)
	if err != nil {
		log.Fatal(err)
	}
	for _, fig := range report.Figures() {
		p, err := fig.Draw(data)
		if err != nil {
			log.Fatal(err)
		}
		if err := p.Save(6*72, 4*72, fig.Name+".svg"); err != nil { // vg.Length is in points
			log.Fatal(err)
		}
		fmt.Println("wrote", fig.Name+".svg:", fig.Title)
	}
}
