package mine

// fileFacts is everything the resolver needs from one source file. It is a
// pure function of the file's bytes, so it is cached by content hash.
type fileFacts struct {
	Units    []unit
	Classes  []classFacts
	Broken   []brokenClass
	HasError bool
}

type unitKind uint8

const (
	unitOther unitKind = iota
	unitImport
	unitFuture
	unitClass
	unitDef
	unitAssign
	unitCompound // if/try/with at top level: emitted verbatim
)

// unit is one top-level statement: the granularity at which bundles copy code.
type unit struct {
	Kind    unitKind
	Start   int
	End     int
	Line    int
	Binds   []string
	Uses    []string
	Imports []importSpec
	// Alias is the dotted right-hand side of `NAME = dotted.name`, used to
	// follow `Base = nn.Module` when deciding module-ness.
	Alias string
}

type importSpec struct {
	Module  string // dotted, without leading dots
	Level   int    // leading dots of a relative import
	Name    string // imported name; "" for `import a.b`
	Alias   string // the name bound in the importing file
	AsAlias bool   // `import a.b as x`
	Star    bool
	// ModStart/ModEnd span the module name in the file, so relative imports
	// inside verbatim compound statements can be rewritten to absolute ones.
	ModStart int
	ModEnd   int
	// StmtStart/StmtEnd span the whole import statement, so an in-root
	// import inside a compound statement can be replaced by the inlined
	// definition.
	StmtStart int
	StmtEnd   int
}

type classFacts struct {
	Name       string
	Path       string // Outer.Inner for nested classes
	Unit       int
	Start      int
	End        int
	Lines      [2]int
	Indent     int
	Nested     bool
	Bases      []string
	Decorators []string
	Doc        string
	HasInit    bool
	Init       []Param
	Dataclass  bool
	Fields     []Param
	HasForward bool
	Forward    []Param
	Submodules []Submodule
	HasError   bool
}

// brokenClass is a class header found inside a region tree-sitter could not
// parse; it is reported with status syntax-error.
type brokenClass struct {
	Name  string
	Line  int
	Bases []string
}
