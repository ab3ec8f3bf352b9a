package mine

import (
	"path"
	"strings"
)

// Categories a module can be put in.
const (
	CatConvBlock  = "conv-block"
	CatAttention  = "attention"
	CatNorm       = "norm"
	CatActivation = "activation"
	CatPooling    = "pooling"
	CatHead       = "head"
	CatOther      = "other"
)

// categorize guesses a category from the class name, then its file name,
// then what it builds in __init__. Names are the strongest signal in
// practice (BasicBlock, SqueezeExcitation, FrozenBatchNorm2d), files next
// (torch/nn/modules/activation.py), submodules last.
func categorize(name, rel string, subs []Submodule) string {
	n := strings.ToLower(name)
	has := func(keys ...string) bool {
		for _, k := range keys {
			if strings.Contains(n, k) {
				return true
			}
		}
		return false
	}
	switch {
	case has("attention", "attn", "excitation", "selayer", "se_block", "seblock", "transformer", "multihead", "gather", "cbam"):
		return CatAttention
	case has("norm"):
		return CatNorm
	case has("pool"):
		return CatPooling
	case has("head", "classifier"):
		return CatHead
	case has("relu", "gelu", "silu", "swish", "mish", "sigmoid", "tanh", "softmax", "softmin", "activation",
		"elu", "hardtanh", "softplus", "softsign", "threshold", "glu", "hardshrink", "softshrink", "tanhshrink"):
		return CatActivation
	case has("conv", "block", "bottleneck", "residual", "stem", "inverted", "fire", "inception", "dense", "mbconv", "unit", "stage"):
		return CatConvBlock
	}
	switch base := strings.TrimSuffix(path.Base(rel), ".py"); {
	case strings.Contains(base, "activation"):
		return CatActivation
	case strings.Contains(base, "norm"):
		return CatNorm
	case strings.Contains(base, "pool"):
		return CatPooling
	case strings.Contains(base, "conv"):
		return CatConvBlock
	}
	var conv, attn bool
	for _, s := range subs {
		c := strings.ToLower(s.Call)
		conv = conv || strings.Contains(c, "conv")
		attn = attn || strings.Contains(c, "attention")
	}
	switch {
	case attn:
		return CatAttention
	case conv:
		return CatConvBlock
	}
	return CatOther
}
