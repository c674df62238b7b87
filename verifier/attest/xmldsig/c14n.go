package xmldsig

import (
	"bytes"
	"sort"
	"strings"
)

// canonicalize writes e in inclusive canonical XML (c14n 1.0 / 1.1 without comments; the two
// agree on documents parse accepts, which carry no xml: attributes), leaving out the element
// skip and its subtree. e is the apex of the output: every namespace in scope at e is
// rendered on it, as inclusive c14n of a subtree requires (so SignedInfo carries the
// document's root declarations); below it only declarations that change a prefix's value are.
func canonicalize(e, skip *element) []byte {
	var b bytes.Buffer
	writeElement(&b, e, skip, map[string]string{})
	return b.Bytes()
}

func writeElement(b *bytes.Buffer, e, skip *element, rendered map[string]string) {
	b.WriteByte('<')
	b.WriteString(qname(e.prefix, e.local))
	var prefixes []string
	for p, uri := range e.scope {
		prev, had := rendered[p]
		switch {
		case p == "" && uri == "" && prev == "":
			// xmlns="" is written only to undo a default namespace an ancestor rendered.
		case had && prev == uri:
		default:
			prefixes = append(prefixes, p)
		}
	}
	sort.Strings(prefixes) // the default namespace ("") sorts first
	next := rendered
	if len(prefixes) > 0 {
		next = make(map[string]string, len(rendered)+len(prefixes))
		for k, v := range rendered {
			next[k] = v
		}
	}
	for _, p := range prefixes {
		if p == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(" xmlns:" + p + `="`)
		}
		escapeAttr(b, e.scope[p])
		b.WriteByte('"')
		next[p] = e.scope[p]
	}
	attrs := append([]attr(nil), e.attrs...)
	uri := func(a attr) string {
		if a.prefix == "" {
			return "" // unprefixed attributes are in no namespace, whatever the default
		}
		return e.scope[a.prefix]
	}
	sort.Slice(attrs, func(i, j int) bool {
		ui, uj := uri(attrs[i]), uri(attrs[j])
		if ui != uj {
			return ui < uj
		}
		return attrs[i].local < attrs[j].local
	})
	for _, a := range attrs {
		b.WriteByte(' ')
		b.WriteString(qname(a.prefix, a.local))
		b.WriteString(`="`)
		escapeAttr(b, a.value)
		b.WriteByte('"')
	}
	b.WriteByte('>')
	for _, c := range e.children {
		switch {
		case c.elem == nil:
			escapeText(b, c.text)
		case c.elem != skip:
			writeElement(b, c.elem, skip, next)
		}
	}
	b.WriteString("</")
	b.WriteString(qname(e.prefix, e.local))
	b.WriteByte('>')
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func escapeText(b *bytes.Buffer, s string) { textEscaper.WriteString(b, s) }
func escapeAttr(b *bytes.Buffer, s string) { attrEscaper.WriteString(b, s) }
