// Package tree holds arbor's architecture trees: nodes, typed arguments,
// paths, shape inference, exact parameter and MAC counts, the canonical
// form and structural hash, the transformations the search applies, the
// enumeration of valid options for them, and rendering to one standalone
// PyTorch file. It does no I/O and never runs Python.
//
// # Shapes
//
// A Shape is (C, H, W) for one sample. Every tensor in a rendered network is
// 4-D (N, C, H, W): flatten yields (N, C*H*W, 1, 1) and linear takes and
// gives (N, F, 1, 1), so the check's shape model is exactly PyTorch's. A
// tree is valid only when its output is (Classes, 1, 1); the rendered
// Candidate.forward returns (N, Classes).
//
// # Width-free storage
//
// A node stores only its output width (conv2d "out", linear "out", a
// module's OutArg); input widths come from shape inference, so edits never
// leave a stale in_channels behind. conv2d "out" may be omitted to keep the
// input width, and "groups": 0 means depthwise (groups = input width).
//
// # PyTorch defaults that differ
//
// conv2d has bias=false by default (PyTorch: true), padding kernel//2 by
// default (PyTorch: 0). batchnorm2d is affine (2*C parameters; running
// statistics are buffers, not parameters). linear has bias=true as in
// PyTorch. maxpool2d/avgpool2d stride defaults to the kernel, as in PyTorch.
//
// # Immutability
//
// Nodes in a tree must not be modified once the tree is built: the
// transformations share untouched subtrees between parent and child trees.
package tree
