package main

import "github.com/spf13/cobra"

// examples are the Examples of `arbor CMD --help` for the commands that do
// not set their own, by command path. TestEveryCommandHasAnExample keeps
// the list complete; the paths used are those of examples/ and the README.
var examples = map[string]string{
	"arbor": `  arbor config init -o arbor.yaml && arbor evolve --config arbor.yaml --run runs/first
  arbor status runs/first; arbor serve runs/`,
	"arbor mine": `  arbor mine /usr/lib/python3/dist-packages/torchvision/models -o catalog.json --probe
  arbor mine src/ --include '*/blocks/*.py' --exclude '*/tests/*' -o catalog.json`,
	"arbor catalog":      `  arbor catalog list catalog.json --usable`,
	"arbor catalog list": `  arbor catalog list catalog.json --category attention --usable`,
	"arbor catalog show": `  arbor catalog show catalog.json torchvision.models.resnet.BasicBlock`,
	"arbor llm":          `  arbor llm try --config examples/ollama.yaml --decision llm/testdata/decision.json`,
	"arbor llm try":      `  arbor llm try --config examples/ollama.yaml --decision llm/testdata/decision.json`,
	"arbor train": `  arbor train resnet20 --dataset fashion-mnist --epochs 1 --subset 0.1
  arbor best runs/first --tree best.json && arbor train best.json --config examples/fashion-mnist.yaml --epochs 20 --seed 2`,
	"arbor bench": `  arbor bench compare --config examples/compare-fashion-mnist.yaml --strategies random,thompson --seeds 3 --budget 20 -o cmp`,
	"arbor evolve": `  arbor evolve --config examples/fashion-mnist.yaml --run runs/fmnist --budget 30 --seed 7
  arbor evolve --resume runs/fmnist --budget 60     # continue, with a larger budget
  arbor evolve --config examples/demo.yaml --json | jq -c 'select(.kind=="finished")'`,
	"arbor status": `  arbor status runs/fmnist
  arbor status runs/fmnist --json | jq .best`,
	"arbor tree":       `  arbor tree seed resnet20 --input 1x28x28 -o seed.json && arbor tree check seed.json`,
	"arbor tree seeds": `  arbor tree seeds`,
	"arbor tree seed":  `  arbor tree seed resnet20 --input 1x28x28 --classes 10 -o seed.json`,
	"arbor tree check": `  arbor tree check seed.json
  arbor tree check best.json --catalog catalog.json --json`,
	"arbor tree render": `  arbor tree render seed.json -o model.py && python3 model.py`,
	"arbor tree apply": `  arbor tree apply seed.json --op change_arg --at /stage1/block1/body/conv1 --arg kernel_size --value 5 -o child.json
  arbor tree apply seed.json --op delete --at /stage3/block3 -o child.json`,
	"arbor tree options": `  arbor tree options seed.json --op delete
  arbor tree options seed.json --op insert --nodes '[{"kind":"op","op":"relu"}]' --json`,
	"arbor config": `  arbor config init -o arbor.yaml && arbor config check arbor.yaml`,
	"arbor config init": `  arbor config init -o arbor.yaml
  arbor config init -o - | less`,
	"arbor config check": `  arbor config check examples/fashion-mnist.yaml
  ARBOR_EVOLVE_BUDGET_TRAINED=50 arbor config check arbor.yaml --no-files`,
	"arbor config docs": `  arbor config docs -o docs/configuration.md`,
	"arbor best": `  arbor best runs/fmnist
  arbor best runs/fmnist --pareto --objective flops
  arbor best runs/fmnist -o best.py --tree best.json   # standalone PyTorch file and its tree`,
	"arbor retrain": `  arbor retrain runs/fmnist --top 3 --seeds 3
  arbor retrain runs/fmnist --top 1 --seeds 5 --epochs 30`,
	"arbor report": `  arbor report runs/fmnist -o report/ && xdg-open report/index.html`,
}

// addExamples sets the example of every command under root that has none.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" {
			c.Example = examples[c.CommandPath()]
		}
		for _, k := range c.Commands() {
			walk(k)
		}
	}
	walk(root)
}
