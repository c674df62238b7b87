package xmldsig

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// node is an element or a text run of the parsed document.
type node struct {
	elem *element
	text string
}

type attr struct {
	prefix, local, value string
}

// element keeps names as written (prefix and local part) and its own namespace declarations,
// which inclusive canonicalization needs, plus the resolved namespace of its name.
type element struct {
	prefix, local string
	space         string            // namespace URI of the element's name
	decls         map[string]string // namespace declarations on this element: prefix ("" default) -> URI
	scope         map[string]string // every namespace in scope here, declarations included
	attrs         []attr
	children      []node
	parent        *element
}

// MaxDocumentSize bounds what Verify reads; NVIDIA's RIMs are about 20 KB.
const MaxDocumentSize = 1 << 20

// maxDepth bounds element nesting: RIMs are four levels deep.
const maxDepth = 32

// parse reads a document into a tree, refusing what this package does not canonicalize
// exactly: DTDs (and so custom entities), processing instructions, attributes in the xml:
// namespace (whose inheritance rules differ between c14n versions), attribute values holding
// literal tab, CR or LF (whose normalization the tokenizer does not apply), undeclared
// prefixes and repeated attributes. Comments are dropped, as c14n without comments does.
func parse(doc []byte) (*element, error) {
	if len(doc) > MaxDocumentSize {
		return nil, malformed("document is %d bytes, limit %d", len(doc), MaxDocumentSize)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var root, cur *element
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || root != nil || cur != nil {
				return nil, malformed("processing instruction %q", t.Target)
			}
		case xml.Directive:
			return nil, malformed("directive <!%s> (DTDs are not accepted)", firstWord(string(t)))
		case xml.Comment:
		case xml.CharData:
			if cur == nil {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, malformed("text outside the document element")
				}
				continue
			}
			cur.children = append(cur.children, node{text: string(t)})
		case xml.StartElement:
			if cur == nil && root != nil {
				return nil, malformed("second document element <%s>", t.Name.Local)
			}
			depth++
			if depth > maxDepth {
				return nil, malformed("elements nested deeper than %d", maxDepth)
			}
			e, err := newElement(t, cur)
			if err != nil {
				return nil, err
			}
			if cur == nil {
				root = e
			} else {
				cur.children = append(cur.children, node{elem: e})
			}
			cur = e
		case xml.EndElement:
			if cur == nil || t.Name.Space != cur.prefix || t.Name.Local != cur.local {
				return nil, malformed("end tag </%s> does not close the open element", qname(t.Name.Space, t.Name.Local))
			}
			cur = cur.parent
			depth--
		}
	}
	if root == nil {
		return nil, malformed("no document element")
	}
	if cur != nil {
		return nil, malformed("element <%s> is not closed", qname(cur.prefix, cur.local))
	}
	return root, nil
}

func newElement(t xml.StartElement, parent *element) (*element, error) {
	e := &element{prefix: t.Name.Space, local: t.Name.Local, decls: map[string]string{}, scope: map[string]string{}, parent: parent}
	if parent != nil {
		for k, v := range parent.scope {
			e.scope[k] = v
		}
	}
	seen := map[string]bool{}
	for _, a := range t.Attr {
		key := a.Name.Space + ":" + a.Name.Local
		if seen[key] {
			return nil, malformed("attribute %s repeated on <%s>", qname(a.Name.Space, a.Name.Local), e.local)
		}
		seen[key] = true
		if strings.ContainsAny(a.Value, "\t\r\n") {
			return nil, malformed("attribute %s holds a tab or line break", qname(a.Name.Space, a.Name.Local))
		}
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			e.decls[""] = a.Value
		case a.Name.Space == "xmlns":
			if a.Value == "" || a.Name.Local == "xml" || a.Name.Local == "xmlns" {
				return nil, malformed("namespace declaration xmlns:%s=%q", a.Name.Local, a.Value)
			}
			e.decls[a.Name.Local] = a.Value
		case a.Name.Space == "xml":
			return nil, malformed("attribute xml:%s (the xml: namespace is not accepted)", a.Name.Local)
		default:
			e.attrs = append(e.attrs, attr{a.Name.Space, a.Name.Local, a.Value})
		}
	}
	for k, v := range e.decls {
		e.scope[k] = v
	}
	space, ok := e.scope[e.prefix]
	if e.prefix != "" && !ok {
		return nil, malformed("element prefix %q is not declared", e.prefix)
	}
	e.space = space
	for _, a := range e.attrs {
		if _, ok := e.scope[a.prefix]; a.prefix != "" && !ok {
			return nil, malformed("attribute prefix %q is not declared", a.prefix)
		}
	}
	return e, nil
}

// attrValue returns the value of the unprefixed attribute name.
func (e *element) attrValue(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.prefix == "" && a.local == name {
			return a.value, true
		}
	}
	return "", false
}

// childElements returns the element children; text between them must be whitespace.
func (e *element) childElements() ([]*element, error) {
	var out []*element
	for _, c := range e.children {
		if c.elem != nil {
			out = append(out, c.elem)
		} else if strings.TrimSpace(c.text) != "" {
			return nil, malformed("unexpected text in <%s>", e.local)
		}
	}
	return out, nil
}

// textContent is the element's text; it must have no element children.
func (e *element) textContent() (string, error) {
	var b strings.Builder
	for _, c := range e.children {
		if c.elem != nil {
			return "", malformed("<%s> holds an element, want text", e.local)
		}
		b.WriteString(c.text)
	}
	return b.String(), nil
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}
