package llm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAnswer feeds arbitrary model answers to extraction and
// validation. Whatever comes in, an accepted answer must name an offered
// option, carry only that option's arguments with in-range values, have safe
// strings and a single-line rationale, and survive re-validation unchanged.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range append(hostileAnswers(),
		validO4,
		`{"option":"o3","args":{"groups":8,"dilations":[3,3,1]}}`,
		"```json\n{\"option\":\"o2\",\"args\":{\"activation\":\"GELU\"}}\n```",
		`prose {"option":"o5","args":{"act":"silu"},"rationale":"x\ny"} more {`,
		`{"option":"o1","args":{"width":1e2,"expand_ratio":-0}}`,
		`{"option":"o4","args":{"p":5e-324}}`,
		`{"option":"o3","args":{"dilations":[1,2,3,1,2,3,1,2,3,1,2,3,1,2,3,1,2]}}`,
		`{{{{"option"`, `"}{"`, "```\n{}\n```", `{"option":"o1","args":{"width":9007199254740993}}`,
	) {
		f.Add(s)
	}
	d := loadDecision(f)
	f.Fuzz(func(t *testing.T, answer string) {
		c, err := ParseAnswer(answer, d.Options)
		if err != nil {
			if !utf8.ValidString(err.Error()) && utf8.ValidString(answer) {
				t.Fatalf("error message is not valid UTF-8: %q", err)
			}
			return
		}
		opt, ok := d.Option(c.OptionID)
		if !ok {
			t.Fatalf("accepted option %q that was not offered", c.OptionID)
		}
		if len(c.Args) != len(opt.Args) {
			t.Fatalf("args %v for option %s with %d arguments", c.Args, opt.ID, len(opt.Args))
		}
		for _, a := range opt.Args {
			v, present := c.Args[a.Name]
			if !present {
				t.Fatalf("missing arg %s", a.Name)
			}
			if _, err := coerceArg(a, v); err != nil {
				t.Fatalf("arg %s=%v does not re-validate: %v", a.Name, v, err)
			}
			if s, isString := v.(string); isString && !safeStringArg(s) && !contains(a.Choices, s) {
				t.Fatalf("unsafe string %q", s)
			}
		}
		if strings.ContainsAny(c.Rationale, "\n\r\t") || utf8.RuneCountInString(c.Rationale) > maxRationale+1 {
			t.Fatalf("rationale not a capped single line: %q", c.Rationale)
		}
		revalidate(t, d, c)
	})
}
