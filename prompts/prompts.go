// Package prompts holds the text/template files the llm package renders:
// a system prompt and one template per prompt category. They are embedded so
// the binary is self-contained, and any of them can be overridden from a
// directory without rebuilding.
package prompts

import (
	"embed"
	"errors"
	"io/fs"
	"os"
)

//go:embed *.tmpl
var embedded embed.FS

// Open returns the templates with every file present in dir taking the place
// of the built-in one of the same name. An empty dir means the built-ins.
func Open(dir string) fs.FS {
	if dir == "" {
		return embedded
	}
	return overlay{top: os.DirFS(dir), base: embedded}
}

type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return o.base.Open(name)
}
