// Package pattern parses the STIX 2.1 patterning language and reduces patterns to plain
// observables (IOCs) where that loses nothing.
//
// The grammar is that of oasis-open/cti-stix2-json-schemas pattern_grammar/STIXPattern.g4
// (STIX 2.1), with EXISTS and a few tolerances for what real feeds write; see [Parse]. [Pattern.String]
// prints a canonical form that parses back to an equal AST. [Pattern.Reduce] says whether a pattern
// is only an OR of equality tests on IOC properties and returns those IOCs.
package pattern

// Pattern is a parsed STIX pattern. Its zero value is not valid: use [Parse].
type Pattern struct {
	// Root is the whole pattern: observation expressions joined by FOLLOWEDBY, OR and AND.
	Root ObsExpr
}

// ObsExpr is an observation expression: an [*Observation], an [*ObsGroup] or a [*Qualified].
type ObsExpr interface {
	obsExpr()
}

// ObsOp is an operator joining observation expressions.
type ObsOp uint8

// Observation operators, in order of increasing precedence.
const (
	ObsFollowedBy ObsOp = iota // FOLLOWEDBY
	ObsOr                      // OR
	ObsAnd                     // AND
)

var obsOpNames = [...]string{"FOLLOWEDBY", "OR", "AND"}

// String returns the keyword of op.
func (op ObsOp) String() string {
	if int(op) < len(obsOpNames) {
		return obsOpNames[op]
	}
	return "ObsOp(?)"
}

// Observation is one bracketed comparison expression: "[ ... ]".
type Observation struct {
	Comparison CompExpr
}

// ObsGroup is two or more observation expressions joined by one operator. A chain written
// without parentheses ("[a] OR [b] OR [c]") is one group; parentheses make a nested group.
type ObsGroup struct {
	Op       ObsOp
	Operands []ObsExpr // at least two
}

// Qualified is an observation expression followed by one or more qualifiers, in the order
// written. Qualifiers on a parenthesised, already qualified expression are merged into one list.
type Qualified struct {
	Expr       ObsExpr // an [*Observation] or an [*ObsGroup]
	Qualifiers []Qualifier
}

func (*Observation) obsExpr() {}
func (*ObsGroup) obsExpr()    {}
func (*Qualified) obsExpr()   {}

// QualifierKind is the kind of a [Qualifier].
type QualifierKind uint8

// Qualifier kinds.
const (
	QualStartStop QualifierKind = iota // START t'…' STOP t'…'
	QualWithin                         // WITHIN n SECONDS
	QualRepeats                        // REPEATS n TIMES
)

var qualNames = [...]string{"START/STOP", "WITHIN", "REPEATS"}

// String returns the qualifier's keyword, "START/STOP" for the start/stop qualifier.
func (k QualifierKind) String() string {
	if int(k) < len(qualNames) {
		return qualNames[k]
	}
	return "QualifierKind(?)"
}

// Qualifier is one observation qualifier.
type Qualifier struct {
	Kind QualifierKind
	// Start and Stop are the bounds of a START/STOP qualifier: timestamp literals, or string
	// literals as the published grammar has them.
	Start, Stop Literal
	// N is the count of a WITHIN (an int or float literal, seconds) or REPEATS (an int literal)
	// qualifier.
	N Literal
}

// CompExpr is a comparison expression inside brackets: a [*Comparison] or a [*CompGroup].
type CompExpr interface {
	compExpr()
}

// CompOp is an operator joining comparison expressions.
type CompOp uint8

// Comparison-expression operators, in order of increasing precedence.
const (
	CompOr  CompOp = iota // OR
	CompAnd               // AND
)

// String returns the keyword of op.
func (op CompOp) String() string {
	if op == CompAnd {
		return "AND"
	}
	return "OR"
}

// CompGroup is two or more comparison expressions joined by one operator; as with [ObsGroup],
// parentheses make nested groups.
type CompGroup struct {
	Op       CompOp
	Operands []CompExpr // at least two
}

// Operator is the operator of a property test.
type Operator uint8

// Property-test operators.
const (
	OpEq         Operator = iota // = (also written ==)
	OpNe                         // != (also written <>)
	OpLt                         // <
	OpLe                         // <=
	OpGt                         // >
	OpGe                         // >=
	OpIn                         // IN (…)
	OpLike                       // LIKE
	OpMatches                    // MATCHES
	OpIsSubset                   // ISSUBSET
	OpIsSuperset                 // ISSUPERSET
	OpExists                     // EXISTS
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"}

// String returns the operator as written in canonical form.
func (op Operator) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return "Operator(?)"
}

// Comparison is one property test: "path [NOT] op value", "path [NOT] IN (set)" or
// "[NOT] EXISTS path".
type Comparison struct {
	Path    Path
	Negated bool
	Op      Operator
	Value   Literal   // the right-hand side; unused for IN and EXISTS
	Set     []Literal // the members of an IN set, possibly none
}

func (*CompGroup) compExpr()  {}
func (*Comparison) compExpr() {}

// Path is an object path: "type:property" followed by keys and list indexes.
type Path struct {
	Object string // the object type, such as "file" or "x-acme-widget"
	Steps  []Step // at least one; the first is a [StepKey], the property
}

// StepKind is the kind of a [Step].
type StepKind uint8

// Path step kinds.
const (
	StepKey   StepKind = iota // .key or .'quoted key'
	StepIndex                 // [n]
	StepAny                   // [*]
)

// Step is one component of a [Path].
type Step struct {
	Kind  StepKind
	Key   string // for StepKey
	Index int    // for StepIndex; may be negative
}

// LiteralKind is the kind of a [Literal].
type LiteralKind uint8

// Literal kinds.
const (
	LitString    LiteralKind = iota // 'text'
	LitInt                          // 42, -7
	LitFloat                        // 1.5, -.25
	LitBool                         // true, false
	LitTimestamp                    // t'2016-01-01T00:00:00Z'
	LitHex                          // h'ff00'
	LitBinary                       // b'AAEC'
)

var litNames = [...]string{"string", "int", "float", "bool", "timestamp", "hex", "binary"}

// String returns the name of the kind ("string", "int", …).
func (k LiteralKind) String() string {
	if int(k) < len(litNames) {
		return litNames[k]
	}
	return "LiteralKind(?)"
}

// Literal is a constant. Value is the text of the constant: for strings, the unescaped
// content; for numbers, the digits as written without a leading "+"; for booleans "true" or
// "false"; for timestamps, hex and binary, the text between the quotes.
type Literal struct {
	Kind  LiteralKind
	Value string
}
