package pattern

import (
	"fmt"
	"strconv"
)

// MaxDepth is how deeply brackets and parentheses may nest in a pattern. It bounds the parser's
// recursion, so hostile input cannot exhaust the stack.
const MaxDepth = 200

// SyntaxError is the error [Parse] returns for a pattern it cannot parse.
type SyntaxError struct {
	Offset int    // byte offset in the pattern where the problem was found
	Msg    string // what was expected, or what is wrong
}

// Error returns "pattern: offset N: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pattern: offset %d: %s", e.Offset, e.Msg)
}

// Parse parses a STIX 2.1 pattern. It never panics; its errors are [*SyntaxError]s.
//
// The grammar is that of STIXPattern.g4 (STIX 2.1): keywords are upper case and true and false
// lower case; "==" and "<>" are accepted for "=" and "!="; START and STOP take timestamp
// literals (as in the specification) or strings (as in the grammar). Beyond the grammar, Parse
// accepts "[NOT] EXISTS path" (from the STIX 2.1 specification), unquoted property names with
// hyphens ("hashes.SHA-256"), and, inside a string, a backslash before a character other than a
// quote or a backslash, which stands for itself ('\d' is the two characters \d). Comments
// (/* */ and //) are skipped.
func Parse(s string) (*Pattern, error) {
	p := &parser{lx: lexer{src: s}}
	p.advance()
	root, err := p.obsChain(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.expected("end of pattern or FOLLOWEDBY, OR, AND, START, WITHIN, REPEATS")
	}
	return &Pattern{Root: root}, nil
}

// parser is a recursive-descent parser with one token of look-ahead.
type parser struct {
	lx    lexer
	tok   token
	depth int
}

func (p *parser) advance() { p.tok = p.lx.next() }

// fail returns a SyntaxError at the current token; a lexical error takes precedence.
func (p *parser) fail(msg string) error {
	if p.tok.kind == tokError {
		msg = p.tok.val
	}
	return &SyntaxError{Offset: p.tok.off, Msg: msg}
}

func (p *parser) expected(what string) error { return p.fail("expected " + what) }

func (p *parser) isKeyword(kw string) bool { return p.tok.kind == tokIdent && p.tok.val == kw }

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.val == s }

// expectPunct consumes the punctuation s or fails.
func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.expected("'" + s + "'")
	}
	p.advance()
	return nil
}

// expectKeyword consumes the keyword kw or fails.
func (p *parser) expectKeyword(kw string) error {
	if !p.isKeyword(kw) {
		return p.expected(kw)
	}
	p.advance()
	return nil
}

// enter counts one level of nesting; leave must follow when the level is done.
func (p *parser) enter() error {
	if p.depth >= MaxDepth {
		return p.fail(fmt.Sprintf("nesting deeper than %d", MaxDepth))
	}
	p.depth++
	return nil
}

func (p *parser) leave() { p.depth-- }

// obsLevels are the observation operators by level, loosest first.
var obsLevels = [...]ObsOp{ObsFollowedBy, ObsOr, ObsAnd}

// obsChain parses observation expressions joined by the operator of level and tighter ones.
func (p *parser) obsChain(level int) (ObsExpr, error) {
	if level == len(obsLevels) {
		return p.obsQualified()
	}
	first, err := p.obsChain(level + 1)
	if err != nil {
		return nil, err
	}
	op := obsLevels[level]
	if !p.isKeyword(op.String()) {
		return first, nil
	}
	g := &ObsGroup{Op: op, Operands: []ObsExpr{first}}
	for p.isKeyword(op.String()) {
		p.advance()
		e, err := p.obsChain(level + 1)
		if err != nil {
			return nil, err
		}
		g.Operands = append(g.Operands, e)
	}
	return g, nil
}

// obsQualified parses an observation, or a parenthesised expression, and its qualifiers.
func (p *parser) obsQualified() (ObsExpr, error) {
	e, err := p.obsPrimary()
	if err != nil {
		return nil, err
	}
	var quals []Qualifier
	for p.isKeyword("START") || p.isKeyword("WITHIN") || p.isKeyword("REPEATS") {
		q, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		quals = append(quals, q)
	}
	if quals == nil {
		return e, nil
	}
	if inner, ok := e.(*Qualified); ok {
		inner.Qualifiers = append(inner.Qualifiers, quals...)
		return inner, nil
	}
	return &Qualified{Expr: e, Qualifiers: quals}, nil
}

// obsPrimary parses "[ comparison ]" or "( observation expression )".
func (p *parser) obsPrimary() (ObsExpr, error) {
	switch {
	case p.isPunct("["):
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.advance()
		c, err := p.compChain(0)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct("]"); err != nil {
			return nil, err
		}
		return &Observation{Comparison: c}, nil
	case p.isPunct("("):
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.advance()
		e, err := p.obsChain(0)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, p.expected("'[' or '('")
}

// qualifier parses START…STOP…, WITHIN n SECONDS or REPEATS n TIMES.
func (p *parser) qualifier() (Qualifier, error) {
	kw := p.tok.val
	p.advance()
	switch kw {
	case "START":
		return p.startStop()
	case "WITHIN":
		if p.tok.kind != tokInt && p.tok.kind != tokFloat || p.tok.val[0] == '-' {
			return Qualifier{}, p.expected("a positive number of seconds")
		}
		n := p.literal()
		return Qualifier{Kind: QualWithin, N: n}, p.expectKeyword("SECONDS")
	default: // REPEATS
		if p.tok.kind != tokInt || p.tok.val[0] == '-' {
			return Qualifier{}, p.expected("a positive integer")
		}
		n := p.literal()
		return Qualifier{Kind: QualRepeats, N: n}, p.expectKeyword("TIMES")
	}
}

func (p *parser) startStop() (Qualifier, error) {
	q := Qualifier{Kind: QualStartStop}
	if p.tok.kind != tokTimestamp && p.tok.kind != tokString {
		return q, p.expected("a timestamp")
	}
	q.Start = p.literal()
	if err := p.expectKeyword("STOP"); err != nil {
		return q, err
	}
	if p.tok.kind != tokTimestamp && p.tok.kind != tokString {
		return q, p.expected("a timestamp")
	}
	q.Stop = p.literal()
	return q, nil
}

// compChain parses comparison expressions joined by OR (level 0) or AND (level 1).
func (p *parser) compChain(level int) (CompExpr, error) {
	if level == 2 {
		return p.compPrimary()
	}
	first, err := p.compChain(level + 1)
	if err != nil {
		return nil, err
	}
	op := CompOp(level)
	if !p.isKeyword(op.String()) {
		return first, nil
	}
	g := &CompGroup{Op: op, Operands: []CompExpr{first}}
	for p.isKeyword(op.String()) {
		p.advance()
		e, err := p.compChain(level + 1)
		if err != nil {
			return nil, err
		}
		g.Operands = append(g.Operands, e)
	}
	return g, nil
}

// compPrimary parses a parenthesised comparison expression or one property test.
func (p *parser) compPrimary() (CompExpr, error) {
	if p.isPunct("(") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.advance()
		e, err := p.compChain(0)
		if err != nil {
			return nil, err
		}
		return e, p.expectPunct(")")
	}
	if p.isKeyword("NOT") || p.isKeyword("EXISTS") {
		return p.exists()
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path}
	if p.isKeyword("NOT") {
		c.Negated = true
		p.advance()
	}
	return c, p.operation(c)
}

// exists parses "[NOT] EXISTS path".
func (p *parser) exists() (CompExpr, error) {
	c := &Comparison{Op: OpExists}
	if p.isKeyword("NOT") {
		c.Negated = true
		p.advance()
	}
	if err := p.expectKeyword("EXISTS"); err != nil {
		return nil, err
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

var punctOps = map[string]Operator{
	"=": OpEq, "==": OpEq, "!=": OpNe, "<>": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe,
}

var keywordOps = map[string]Operator{
	"IN": OpIn, "LIKE": OpLike, "MATCHES": OpMatches, "ISSUBSET": OpIsSubset, "ISSUPERSET": OpIsSuperset,
}

// operation parses the operator and right-hand side of a property test into c.
func (p *parser) operation(c *Comparison) error {
	var ok bool
	switch p.tok.kind {
	case tokPunct:
		c.Op, ok = punctOps[p.tok.val]
	case tokIdent:
		c.Op, ok = keywordOps[p.tok.val]
	}
	if !ok {
		return p.expected("comparison operator")
	}
	p.advance()
	switch c.Op {
	case OpIn:
		set, err := p.set()
		c.Set = set
		return err
	case OpEq, OpNe:
		return p.value(&c.Value, "a literal", isPrimitive)
	case OpLt, OpLe, OpGt, OpGe:
		return p.value(&c.Value, "an orderable literal", isOrderable)
	default:
		return p.value(&c.Value, "a string literal", func(k tokKind) bool { return k == tokString })
	}
}

// value parses a literal whose token kind satisfies ok into l.
func (p *parser) value(l *Literal, what string, ok func(tokKind) bool) error {
	accept := p.tok.kind != tokIdent && ok(p.tok.kind) || p.isBool() && ok(tokIdent)
	if !accept {
		return p.expected(what)
	}
	*l = p.literal()
	return nil
}

// set parses "( [literal {, literal}] )".
func (p *parser) set() ([]Literal, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	set := []Literal{}
	if p.isPunct(")") {
		p.advance()
		return set, nil
	}
	for {
		var l Literal
		if err := p.value(&l, "a literal", isPrimitive); err != nil {
			return nil, err
		}
		set = append(set, l)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	return set, p.expectPunct(")")
}

func (p *parser) isBool() bool { return p.isKeyword("true") || p.isKeyword("false") }

// isOrderable reports whether a token of kind k is an orderable literal.
func isOrderable(k tokKind) bool {
	switch k {
	case tokString, tokInt, tokFloat, tokTimestamp, tokHex, tokBinary:
		return true
	}
	return false
}

// isPrimitive reports whether a token of kind k is a literal; tokIdent stands for true and false.
func isPrimitive(k tokKind) bool { return isOrderable(k) || k == tokIdent }

// literal converts the current token, a literal, and advances.
func (p *parser) literal() Literal {
	kinds := [...]LiteralKind{
		tokString: LitString, tokInt: LitInt, tokFloat: LitFloat, tokIdent: LitBool,
		tokTimestamp: LitTimestamp, tokHex: LitHex, tokBinary: LitBinary,
	}
	l := Literal{Kind: kinds[p.tok.kind], Value: p.tok.val}
	p.advance()
	return l
}

// path parses "type:property" and the steps after it.
func (p *parser) path() (Path, error) {
	if p.tok.kind != tokIdent || isReserved(p.tok.val) {
		return Path{}, p.expected("object path")
	}
	path := Path{Object: p.tok.val}
	p.advance()
	if err := p.expectPunct(":"); err != nil {
		return Path{}, err
	}
	key, err := p.key()
	if err != nil {
		return Path{}, err
	}
	path.Steps = append(path.Steps, Step{Kind: StepKey, Key: key})
	for {
		switch {
		case p.isPunct("."):
			p.advance()
			key, err := p.key()
			if err != nil {
				return Path{}, err
			}
			path.Steps = append(path.Steps, Step{Kind: StepKey, Key: key})
		case p.isPunct("["):
			s, err := p.index()
			if err != nil {
				return Path{}, err
			}
			path.Steps = append(path.Steps, s)
		default:
			return path, nil
		}
	}
}

// key parses a property name: an identifier or a quoted string.
func (p *parser) key() (string, error) {
	if p.tok.kind == tokString || p.tok.kind == tokIdent && !isReserved(p.tok.val) {
		k := p.tok.val
		p.advance()
		return k, nil
	}
	return "", p.expected("property name")
}

// index parses "[n]" or "[*]".
func (p *parser) index() (Step, error) {
	p.advance() // "["
	var s Step
	switch {
	case p.isPunct("*"):
		s.Kind = StepAny
	case p.tok.kind == tokInt:
		n, err := strconv.Atoi(p.tok.val)
		if err != nil {
			return s, p.fail("index out of range")
		}
		s.Kind, s.Index = StepIndex, n
	default:
		return s, p.expected("list index or '*'")
	}
	p.advance()
	return s, p.expectPunct("]")
}
