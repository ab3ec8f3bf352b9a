package mine

import (
	"path"
	"strings"
	"unicode"
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
//
// A key matches a name's whole words only: its CamelCase parts and the
// pieces between underscores and digits, alone or run together (ReLU is
// "re"+"lu", SELayer "se"+"layer"), never a substring across them, so
// DenseNet's _DenseBlock ("dense", "block") is not an "seblock".
func categorize(name, rel string, subs []Submodule) string {
	has := wordMatcher(name)
	switch {
	case has("attention", "attn", "excitation", "selayer", "seblock", "transformer", "multihead", "gather", "cbam"):
		return CatAttention
	case has("norm"):
		return CatNorm
	case has("pool"):
		return CatPooling
	case has("head", "classifier"):
		return CatHead
	case has("relu", "gelu", "silu", "swish", "hardswish", "mish", "sigmoid", "hardsigmoid", "tanh", "softmax", "softmin",
		"activation", "elu", "celu", "selu", "hardtanh", "softplus", "softsign", "threshold", "glu", "hardshrink", "softshrink",
		"tanhshrink"):
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

// wordMatcher returns a test of whether any key is one of name's words
// or a run of consecutive words (lower case).
func wordMatcher(name string) func(keys ...string) bool {
	words := splitWords(name)
	runs := map[string]bool{}
	for i := range words {
		run := ""
		for _, w := range words[i:] {
			run += w
			runs[run] = true
		}
	}
	return func(keys ...string) bool {
		for _, k := range keys {
			if runs[k] {
				return true
			}
		}
		return false
	}
}

// splitWords splits an identifier into lower-case words: at underscores
// and other non-letters, between letters and digits, at a lower-to-upper
// change (BatchNorm) and before the last capital of a capital run that
// starts a word (SELayer: SE, Layer).
func splitWords(name string) []string {
	var words []string
	rs := []rune(name)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush(i)
			continue
		case start < 0:
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsDigit(r) != unicode.IsDigit(prev):
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return words
}
