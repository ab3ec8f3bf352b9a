package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/arbor-nas/arbor/tree"
)

// datasetSource says where a dataset comes from, for missing-path errors.
func datasetSource(name string) string {
	switch name {
	case "fashion-mnist":
		return "install the Debian package dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist), " +
			"or download the four IDX .gz files from https://github.com/zalandoresearch/fashion-mnist and set train.dataset.path to their folder"
	case "mnist":
		return "download the four MNIST IDX files (train-images-idx3-ubyte.gz, ...) from https://yann.lecun.com/exdb/mnist/ and set train.dataset.path to their folder"
	case "cifar10":
		return "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extract it, and set train.dataset.path to the cifar-10-batches-py folder"
	case "cifar100":
		return "download https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz, extract it, and set train.dataset.path to the cifar-100-python folder"
	case "imagenet16-120":
		return "download ImageNet16 (the 16x16 ImageNet of NAS-Bench-201, linked from https://github.com/D-X-Y/AutoDL-Projects) and set train.dataset.path to the folder of train_data_batch_1..10 and val_data"
	}
	return ""
}

// datasetFiles are the files a dataset folder must hold (alternatives per
// entry: any one of them), mirroring what the trainer reads.
func datasetFiles(name, dir string) [][]string {
	idx := func(base string) []string {
		return []string{base, base + ".gz", base[:len(base)-len("-idx3-ubyte")] + ".idx3-ubyte"}
	}
	switch name {
	case "fashion-mnist", "mnist":
		return [][]string{idx("train-images-idx3-ubyte"), {"train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"},
			idx("t10k-images-idx3-ubyte"), {"t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz"}}
	case "cifar10":
		return [][]string{{"data_batch_1", "cifar-10-batches-py/data_batch_1"}, {"test_batch", "cifar-10-batches-py/test_batch"}}
	case "cifar100":
		return [][]string{{"train", "cifar-100-python/train"}, {"test", "cifar-100-python/test"}}
	case "imagenet16-120":
		return [][]string{{"train_data_batch_1"}, {"val_data"}}
	}
	return nil
}

// CheckFiles checks that the files a run of cfg reads exist (dataset,
// table, catalog, seed tree, interpreter), and says where to get the
// missing ones. Load has made cfg's paths absolute (PathRule).
func CheckFiles(cfg Config) error {
	var errs []error
	missing := func(key, path, hint string) {
		errs = append(errs, fmt.Errorf("%s: %s does not exist: %s", key, path, hint))
	}
	switch cfg.Run.Evaluator {
	case "tabular":
		if _, err := os.Stat(cfg.Run.Table); err != nil {
			missing("run.table", cfg.Run.Table, "it is the NAS-Bench-201 table as CSV (columns index, arch, c10_val12, ..., exported from NATS-Bench); point run.table at your copy")
		}
	default:
		d := cfg.Train.Dataset
		if d.Name != "synthetic" && d.Name != "gratings" { // generated, no files
			dir := d.Path
			if dir == "" {
				dir = filepath.Join("/usr/share/datasets", d.Name)
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				missing("train.dataset.path", dir, datasetSource(d.Name))
			} else {
				for _, alts := range datasetFiles(d.Name, dir) {
					found := slices.ContainsFunc(alts, func(f string) bool {
						_, err := os.Stat(filepath.Join(dir, f))
						return err == nil
					})
					if !found {
						errs = append(errs, fmt.Errorf("train.dataset.path: %s has no %s for dataset %s: %s", dir, alts[0], d.Name, datasetSource(d.Name)))
						break
					}
				}
			}
		}
		if cfg.Train.Python != "" {
			if _, err := os.Stat(cfg.Train.Python); err != nil {
				missing("train.python", cfg.Train.Python, "give an interpreter that can import torch (Debian: python3-torch on /usr/bin/python3), or leave it empty to detect one")
			}
		}
	}
	if cfg.Run.Catalog != "" {
		if _, err := os.Stat(cfg.Run.Catalog); err != nil {
			missing("run.catalog", cfg.Run.Catalog, "create it with: arbor mine /usr/lib/python3/dist-packages/torchvision/models --probe -o "+cfg.Run.Catalog+" (or leave run.catalog empty for built-in primitives only)")
		}
	}
	if !slices.Contains(tree.Seeds(), cfg.Evolve.SeedArch) {
		if _, err := os.Stat(cfg.Evolve.SeedArch); err != nil {
			missing("evolve.seed_arch", cfg.Evolve.SeedArch, fmt.Sprintf("name a built-in seed (%v) or a tree JSON file (arbor tree seed NAME -o FILE writes one)", tree.Seeds()))
		}
	}
	return Input(errors.Join(errs...))
}
