package pattern

import (
	"strconv"
	"strings"
)

// String returns p in canonical form: single spaces around operators, keywords in upper case,
// "=" and "!=" for equality, property names quoted only where they must be, parentheses only
// where they change the grouping. Parsing the result gives a pattern equal to p.
func (p *Pattern) String() string {
	if p == nil || p.Root == nil {
		return ""
	}
	var b strings.Builder
	writeObs(&b, p.Root)
	return b.String()
}

func writeObs(b *strings.Builder, e ObsExpr) {
	switch e := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeComp(b, e.Comparison)
		b.WriteByte(']')
	case *ObsGroup:
		for i, o := range e.Operands {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(e.Op.String())
				b.WriteByte(' ')
			}
			writeObsOperand(b, o, e.Op)
		}
	case *Qualified:
		if _, ok := e.Expr.(*Observation); ok {
			writeObs(b, e.Expr)
		} else {
			writeParen(b, func() { writeObs(b, e.Expr) })
		}
		for _, q := range e.Qualifiers {
			b.WriteByte(' ')
			writeQualifier(b, q)
		}
	}
}

// writeObsOperand writes an operand of a group joined by parent, in parentheses if it is a group
// that binds no tighter than parent.
func writeObsOperand(b *strings.Builder, e ObsExpr, parent ObsOp) {
	if g, ok := e.(*ObsGroup); ok && g.Op <= parent {
		writeParen(b, func() { writeObs(b, e) })
		return
	}
	writeObs(b, e)
}

func writeParen(b *strings.Builder, inner func()) {
	b.WriteByte('(')
	inner()
	b.WriteByte(')')
}

func writeQualifier(b *strings.Builder, q Qualifier) {
	switch q.Kind {
	case QualStartStop:
		b.WriteString("START ")
		writeLiteral(b, q.Start)
		b.WriteString(" STOP ")
		writeLiteral(b, q.Stop)
	case QualWithin:
		b.WriteString("WITHIN ")
		writeLiteral(b, q.N)
		b.WriteString(" SECONDS")
	case QualRepeats:
		b.WriteString("REPEATS ")
		writeLiteral(b, q.N)
		b.WriteString(" TIMES")
	}
}

func writeComp(b *strings.Builder, e CompExpr) {
	switch e := e.(type) {
	case *Comparison:
		writeComparison(b, e)
	case *CompGroup:
		for i, o := range e.Operands {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(e.Op.String())
				b.WriteByte(' ')
			}
			if g, ok := o.(*CompGroup); ok && g.Op <= e.Op {
				writeParen(b, func() { writeComp(b, o) })
			} else {
				writeComp(b, o)
			}
		}
	}
}

// String returns c in canonical form, as inside a pattern's brackets.
func (c *Comparison) String() string {
	var b strings.Builder
	writeComparison(&b, c)
	return b.String()
}

func writeComparison(b *strings.Builder, c *Comparison) {
	if c.Op == OpExists {
		if c.Negated {
			b.WriteString("NOT ")
		}
		b.WriteString("EXISTS ")
		writePath(b, c.Path)
		return
	}
	writePath(b, c.Path)
	if c.Negated {
		b.WriteString(" NOT")
	}
	b.WriteByte(' ')
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op != OpIn {
		writeLiteral(b, c.Value)
		return
	}
	b.WriteByte('(')
	for i, l := range c.Set {
		if i > 0 {
			b.WriteString(", ")
		}
		writeLiteral(b, l)
	}
	b.WriteByte(')')
}

// String returns the path in canonical form: "type:prop.key[0][*].'quoted key'".
func (p Path) String() string {
	var b strings.Builder
	writePath(&b, p)
	return b.String()
}

func writePath(b *strings.Builder, p Path) {
	b.WriteString(p.Object)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			if i > 0 {
				b.WriteByte('.')
			}
			writeKey(b, s.Key)
		case StepIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
		case StepAny:
			b.WriteString("[*]")
		}
	}
}

// writeKey writes a property name bare if the grammar allows it there, quoted otherwise.
func writeKey(b *strings.Builder, k string) {
	if isPlainIdent(k) && !isReserved(k) {
		b.WriteString(k)
		return
	}
	writeQuoted(b, k)
}

// String returns l as written in a pattern: "'it\'s'", "42", "t'2016-01-01T00:00:00Z'", ….
func (l Literal) String() string {
	var b strings.Builder
	writeLiteral(&b, l)
	return b.String()
}

func writeLiteral(b *strings.Builder, l Literal) {
	switch l.Kind {
	case LitString:
		writeQuoted(b, l.Value)
	case LitTimestamp:
		b.WriteByte('t')
		writeQuoted(b, l.Value)
	case LitHex:
		b.WriteByte('h')
		writeQuoted(b, l.Value)
	case LitBinary:
		b.WriteByte('b')
		writeQuoted(b, l.Value)
	default:
		b.WriteString(l.Value)
	}
}

// writeQuoted writes s as a string literal, escaping quotes and backslashes.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
}

// isPlainIdent reports whether s is an identifier without hyphens: [a-zA-Z_][a-zA-Z0-9_]*.
func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentStart(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}
