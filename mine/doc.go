// Package mine extracts reusable nn.Module classes from PyTorch source trees
// into a catalog, and probes their interfaces in a child Python process.
//
// Mining (Mine) runs in three steps:
//
//  1. walk: the .py files under each root (walk.go), read and hashed in
//     parallel; a fingerprint of all hashes lets an unchanged rebuild reuse
//     the previous catalog from the cache (cache.go);
//  2. extract: each file not in the cache is parsed by tree-sitter, one
//     parser per worker, into fileFacts (extract.go, facts.go): top-level
//     statements with the names they bind and use, imports, and classes
//     with bases, constructor and forward signatures and submodules;
//  3. resolve: per root, names are followed through imports, star imports
//     and aliases to decide which classes are nn.Modules (resolve.go), and
//     each module gets a standalone source bundle (bundle.go), a category
//     (category.go) and the constructor call the probe will try (guess.go).
//
// Probing (ProbeCatalog, interface.go) sends each ok module to one
// persistent Python child (probe.go, probe.py) that instantiates it at three
// widths, measures shapes, parameters and MACs, and reports which arguments
// set the widths and the stride. Catalog.Specs converts usable modules into
// the tree package's ModuleSpec contract.
package mine
