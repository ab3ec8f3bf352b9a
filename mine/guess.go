package mine

import (
	"encoding/json"
	"strings"

	"github.com/arbor-nas/arbor/tree"
)

// Guess is how the probe calls a constructor: which argument receives the
// input width, which the output width, and literal values for the others.
type Guess struct {
	InArg     string          `json:"in_arg,omitempty"`
	OutArg    string          `json:"out_arg,omitempty"`
	StrideArg string          `json:"stride_arg,omitempty"`
	Fixed     map[string]any  `json:"fixed,omitempty"`
	Tunable   []tree.ArgRange `json:"tunable,omitempty"`
	// Divisors are arguments whose value must divide the width, with the
	// value the probe uses (guessed or the default).
	Divisors map[string]int `json:"divisors,omitempty"`
	// Callables are layer-class arguments by kind (tree.CallableNorm...);
	// Optional marks those with a default of their own.
	Callables map[string]string `json:"callables,omitempty"`
	Optional  map[string]bool   `json:"optional,omitempty"`
	// NoneDefault are optional callables whose default is None; the probe
	// passes the table's default when the module calls the None.
	NoneDefault map[string]bool `json:"none_default,omitempty"`
}

// callableKind says whether an argument takes a layer class, by its name,
// then by its annotation or default: norm_layer, act_layer, conv_layer and
// their common spellings. A default that is a string (timm's 'batchnorm')
// or an instance is not a class and is left alone.
func callableKind(p Param) string {
	var kind string
	switch strings.ToLower(p.Name) {
	case "norm_layer", "norm", "norm_fn", "norm_cls", "norm_module", "normalization", "bn_layer", "norm_layer_cl":
		kind = tree.CallableNorm
	case "act_layer", "activation", "activation_layer", "act", "act_fn", "act_cls", "nonlinearity", "activation_fn":
		kind = tree.CallableAct
	case "conv_layer", "conv_fn", "conv_cls":
		kind = tree.CallableConv
	default:
		return ""
	}
	if !p.HasDefault {
		return kind
	}
	d := strings.TrimSpace(p.Default)
	if d == "None" {
		// None often means "no such layer": the module keeps it unless the
		// probe finds it calls the None (see noneDefault).
		return kind
	}
	if d == "" {
		return ""
	}
	if isDottedName(d) {
		return kind
	}
	return ""
}

func isDottedName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if !isIdentifier(part) {
			return false
		}
	}
	return true
}

// divisorArg says whether an argument's value must divide the width.
func divisorArg(name string) bool {
	switch strings.ToLower(name) {
	case "groups", "num_heads", "heads", "n_heads", "nhead", "num_head", "n_head", "num_groups", "groups_num",
		"gn_groups", "head_dim", "dim_head", "group_width", "n_div", "group_size":
		return true
	}
	return false
}

// Argument names by role. Conventions differ across codebases (torchvision
// says inplanes/planes, timm in_chs/out_chs, transformers dim), so the lists
// are broad; only required arguments or width-sized defaults are taken.
func widthRole(name string) string {
	switch strings.ToLower(name) {
	case "in_channels", "in_chs", "in_ch", "inplanes", "in_planes", "inp", "input_channels", "num_input_features", "in_channel",
		"in_features", "in_dim", "input_dim", "c_in", "cin", "channels_in", "in_c", "dim_in", "in_chans", "width_in":
		return "in"
	case "out_channels", "out_chs", "out_ch", "planes", "out_planes", "outplanes", "oup", "output_channels", "num_output_features",
		"out_features", "out_dim", "output_dim", "c_out", "cout", "channels_out", "out_c", "dim_out", "out_chans", "width_out":
		return "out"
	case "dim", "channels", "num_channels", "num_features", "embed_dim", "d_model", "width", "features",
		"channel", "n_channels", "chs", "n_feats", "num_feat", "hidden_size", "c", "normalized_shape", "normalization_shape":
		return "same"
	case "hidden_dim", "hidden_channels", "hidden_features", "mid_channels", "squeeze_channels",
		"expand_channels", "inner_channels", "reduced_dim", "bottleneck_channels", "mid_chs", "rd_channels", "midplanes", "mlp_dim", "inter_channels":
		return "hidden"
	}
	return ""
}

// fixedGuess returns a probe value for a non-width argument by name.
func fixedGuess(name string) (any, bool) {
	switch strings.ToLower(name) {
	case "stride", "groups", "dilation", "num_layers", "depth", "n_layers", "output_size", "repeats":
		return 1, true
	case "kernel_size", "kernel", "k", "ksize", "k_size":
		return 3, true
	case "padding":
		return 1, true
	case "num_heads", "heads", "n_heads", "nhead", "num_groups", "groups_num", "scale_factor":
		return 2, true
	case "expand_ratio", "expansion", "expand", "mlp_ratio", "ratio", "reduction", "reduction_ratio", "expansion_factor":
		return 4, true
	case "se_ratio", "squeeze_factor", "rd_ratio":
		return 0.25, true
	case "dropout", "drop", "p", "drop_rate", "drop_path", "drop_prob", "attn_drop", "proj_drop",
		"dropout_rate", "stochastic_depth_prob", "drop_path_rate", "threshold", "value", "lambd", "negative_slope", "attention_dropout":
		return 0.0, true
	case "eps":
		return 1e-5, true
	case "momentum":
		return 0.1, true
	case "bias", "affine":
		return true, true
	case "inplace":
		return false, true
	case "num_classes":
		return 10, true
	case "head_dim", "dim_head", "group_width", "group_size", "n_div":
		return 4, true
	case "key_dim":
		return 8, true
	case "window_size", "partition_size":
		return []any{4, 4}, true
	case "shift_size":
		return []any{0, 0}, true
	case "growth_rate", "squeeze_planes", "expand1x1_planes", "expand3x3_planes", "ch1x1", "ch3x3red", "ch3x3",
		"ch5x5red", "ch5x5", "pool_proj", "pool_features", "channels_7x7", "inter_chs", "representation_size", "intermediate_size":
		return 16, true
	case "bn_size":
		return 4, true
	case "patch_size", "patch_stride":
		return 2, true
	case "radix", "focal_level":
		return 2, true
	case "cardinality":
		return 1, true
	case "focal_window":
		return 3, true
	case "atrous_rates":
		return []any{2, 3}, true
	case "layer_scale", "layer_scale_init_value", "ls_init_value":
		return 1e-5, true
	case "norm_type":
		return 2, true
	case "size":
		return 3, true
	case "squeeze_ratio":
		return 0.25, true
	case "expansion_ratio", "bottleneck_multiplier":
		return 1.0, true
	case "mlp_dropout", "p_stochastic_dropout":
		return 0.0, true
	}
	return nil, false
}

func tunableRange(p Param) (tree.ArgRange, bool) {
	var def any
	if p.Literal != nil {
		_ = json.Unmarshal(p.Literal, &def)
	}
	r := tree.ArgRange{Name: p.Name, Default: def}
	switch strings.ToLower(p.Name) {
	case "kernel_size", "k", "ksize":
		r.Type, r.Min, r.Max = "int", 1, 7
	case "expand_ratio", "expansion", "mlp_ratio", "expansion_factor":
		r.Type, r.Min, r.Max = "float", 1, 6
	case "reduction", "reduction_ratio":
		r.Type, r.Min, r.Max = "int", 2, 16
	case "se_ratio", "squeeze_factor", "rd_ratio":
		r.Type, r.Min, r.Max = "float", 0.0625, 0.5
	case "dropout", "drop_rate", "drop_path", "drop_prob", "dropout_rate", "stochastic_depth_prob", "drop_path_rate", "attn_drop", "proj_drop":
		r.Type, r.Min, r.Max = "float", 0, 0.5
	default:
		return r, false
	}
	if def == nil {
		if v, ok := fixedGuess(p.Name); ok {
			r.Default = v
		}
	}
	return r, true
}

// guessArgs decides the probe's constructor call. missing lists required
// arguments no rule covers; a module with any is not probed.
func guessArgs(params []Param) (g *Guess, missing []string) {
	g = &Guess{Fixed: map[string]any{}}
	byName := map[string]Param{}
	var same, hidden []string
	// An image classifier (in_chans=3 and num_classes) is a whole model,
	// not a block: its input-channel argument is not taken as a width.
	wholeModel := false
	for _, p := range params {
		if p.HasDefault && p.Name == "flatten" && p.Default == "True" {
			g.Fixed[p.Name] = false // a patch embedding keeps (N, C, H, W)
			continue
		}
		if p.HasDefault && (p.Name == "img_size" || p.Name == "image_size") {
			// A patch embedding checks its input against img_size; None
			// (timm) makes it follow the input.
			g.Fixed[p.Name] = nil
			continue
		}
		if strings.EqualFold(p.Name, "num_classes") {
			wholeModel = true
		}
	}
	for _, p := range params {
		byName[p.Name] = p
		if p.Kind == "var-positional" || p.Kind == "var-keyword" {
			continue
		}
		role := widthRole(p.Name)
		if role != "" && (!isWidthSized(p) || (wholeModel && smallDefault(p))) {
			role = ""
		}
		switch role {
		case "in":
			if g.InArg == "" {
				g.InArg = p.Name
				continue
			}
		case "out":
			if g.OutArg == "" {
				g.OutArg = p.Name
				continue
			}
		case "same":
			same = append(same, p.Name)
			continue
		case "hidden":
			if !p.HasDefault {
				g.Fixed[p.Name] = 16
				hidden = append(hidden, p.Name)
			}
			continue
		}
		if strings.EqualFold(p.Name, "stride") {
			g.StrideArg = p.Name
			if p.HasDefault && p.Default != "1" && p.Default != "None" {
				// A downsampling default (stride=2): probe at 1, so the
				// tree's stride argument means what it says.
				g.Fixed[p.Name] = 1
				continue
			}
		}
		if strings.EqualFold(p.Name, "batch_first") {
			g.Fixed[p.Name] = true // the token layout is (B, N, C)
			continue
		}
		if p.HasDefault && p.Name == "flatten" && p.Default == "True" {
			g.Fixed[p.Name] = false // a patch embedding keeps (N, C, H, W)
			continue
		}
		if p.HasDefault && (p.Name == "img_size" || p.Name == "image_size") {
			// A patch embedding checks its input against img_size; None
			// (timm) makes it follow the input.
			g.Fixed[p.Name] = nil
			continue
		}
		if strings.EqualFold(p.Name, "num_classes") {
			g.Fixed[p.Name] = 10 // a head's output, not ImageNet's 1000
			continue
		}
		if k := callableKind(p); k != "" {
			if g.Callables == nil {
				g.Callables, g.Optional = map[string]string{}, map[string]bool{}
			}
			g.Callables[p.Name] = k
			if p.HasDefault {
				g.Optional[p.Name] = true
			}
			if p.HasDefault && strings.TrimSpace(p.Default) == "None" {
				if g.NoneDefault == nil {
					g.NoneDefault = map[string]bool{}
				}
				g.NoneDefault[p.Name] = true
			}
			continue
		}
		if p.HasDefault && !(p.Default == "None" && strings.EqualFold(p.Name, "stride")) {
			continue
		}
		if v, ok := fixedGuess(p.Name); ok {
			g.Fixed[p.Name] = v
			continue
		}
		missing = append(missing, p.Name)
	}
	// A lone width-like name (dim, channels) is the input width; the probe
	// decides whether the output follows it.
	for _, s := range same {
		switch {
		case g.InArg == "":
			g.InArg = s
		case g.OutArg == "":
			g.OutArg = s
		default:
			if !byName[s].HasDefault {
				g.Fixed[s] = 16
			}
		}
	}
	for _, p := range params {
		if !divisorArg(p.Name) || p.Name == g.InArg || p.Name == g.OutArg {
			continue
		}
		v, ok := g.Fixed[p.Name]
		if !ok && p.Literal != nil {
			_ = json.Unmarshal(p.Literal, &v)
		}
		var n int
		switch x := v.(type) {
		case int:
			n = x
		case float64:
			n = int(x)
		}
		if n > 1 {
			if g.Divisors == nil {
				g.Divisors = map[string]int{}
			}
			g.Divisors[p.Name] = n
		}
	}
	// A block whose only width argument is hidden_dim (torchvision's ViT
	// EncoderBlock) runs at that width.
	if g.InArg == "" && g.OutArg == "" && len(hidden) > 0 {
		g.InArg = hidden[0]
		delete(g.Fixed, hidden[0])
	}
	// A guessed kernel size needs matching padding to keep the spatial size.
	for _, k := range []string{"kernel_size", "kernel", "k", "ksize", "k_size"} {
		if _, guessed := g.Fixed[k]; guessed {
			if _, ok := byName["padding"]; ok {
				g.Fixed["padding"] = 1
			}
		}
	}
	_, hasPad := byName["padding"]
	for _, p := range params {
		if r, ok := tunableRange(p); ok {
			if r.Name == "kernel_size" && hasPad {
				continue
			}
			g.Tunable = append(g.Tunable, r)
		}
	}
	if len(g.Fixed) == 0 {
		g.Fixed = nil
	}
	return g, missing
}

// isWidthSized: a width-named argument counts only when it is required or
// defaults to a plausible channel count (so Softmax(dim=None) is not a width).
//
// An explicit input-channel name (in_chans=3 of a stem or patch embedding)
// is the input width whatever its default: the probe decides whether the
// module works at other widths.
func isWidthSized(p Param) bool {
	if !p.HasDefault {
		return true
	}
	var v any
	if p.Literal == nil || json.Unmarshal(p.Literal, &v) != nil {
		return false
	}
	f, ok := v.(float64)
	if ok && f >= 1 && f == float64(int(f)) {
		switch strings.ToLower(p.Name) {
		case "in_chans", "in_chs", "in_channels", "in_ch", "input_channels":
			return true
		}
	}
	return ok && f >= 8 && f == float64(int(f))
}

// smallDefault: a width-named argument defaulting to fewer than 8 channels
// (in_chans=3, an image's).
func smallDefault(p Param) bool {
	var v any
	if !p.HasDefault || p.Literal == nil || json.Unmarshal(p.Literal, &v) != nil {
		return false
	}
	f, ok := v.(float64)
	return ok && f < 8
}
