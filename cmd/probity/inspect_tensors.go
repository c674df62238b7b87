package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/tensor"
)

// looksSafetensors is true for a file that starts with a plausible safetensors header length
// followed by a JSON object.
func looksSafetensors(data []byte) bool {
	if len(data) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(data[:8])
	return n >= 2 && n <= uint64(len(data)-8) && data[8] == '{'
}

// printSafetensors describes a Probity model (model/v1), a generation job (job/v1), or any
// other tensor file (a trace, a result, activations, a float checkpoint): its
// tensors with dtype and shape, and its metadata.
func printSafetensors(w io.Writer, path string, data []byte) error {
	f, err := tensor.Read(bytes.NewReader(data))
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "the file starts like safetensors (a header length, then JSON) but breaks its rules")
	}
	switch f.Metadata["probity.format"] {
	case model.FormatVersion:
		m, err := model.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return printModel(w, path, m)
	case jobs.JobFormat:
		j, err := jobs.ParseJob(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		d, err := j.Digest()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(w, "Generation job %s (%s)\n  job digest %s\n  model root %s\n  prompt     %d tokens %v\n",
			path, jobs.JobFormat, d.String(), j.ModelRoot.String(), len(j.Prompt), clip(j.Prompt, 16))
		if text, ok := jobs.ByteText(j.Prompt); ok && plainText(text) {
			fmt.Fprintf(w, "             as bytes: %q\n", text)
		}
		fmt.Fprintf(w, "  new        %d tokens\n", j.New)
		if j.Select.Sample {
			fmt.Fprintf(w, "  select     sample: top-k %d, seed %d, exp table E[1] = %d\n", j.Select.K, j.Select.Seed, j.Select.Table[1])
		} else {
			fmt.Fprintln(w, "  select     argmax")
		}
		if h := j.Hardware; h != nil {
			canon, err := h.Canonical()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			salt, err := h.Salt(j.HardwareNonce)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			fmt.Fprintf(w, "  hardware   %s\n             nonce 0x%x; the request's salt must be 0x%064x\n", canon, j.HardwareNonce, salt)
		}
		return nil
	}
	fmt.Fprintf(w, "Tensor file %s (%d bytes, %d tensors)\n", path, len(data), len(f.Tensors))
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  metadata %s = %q\n", k, f.Metadata[k])
	}
	for _, t := range f.Tensors {
		fmt.Fprintf(w, "  %-40s %-4s %v\n", t.Name, t.DType, t.Shape)
	}
	if ts := f.Names(); slices.Equal(ts, []string{jobs.TokensTensor}) {
		if toks, err := jobs.ParseResult(data); err == nil {
			d, _ := jobs.ResultDigest(toks)
			fmt.Fprintf(w, "  a generation result: %d tokens %v, result digest %s\n", len(toks), clip(toks, 16), d.String())
		}
	}
	return nil
}

func clip(xs []int32, n int) string {
	if len(xs) <= n {
		return fmt.Sprint(xs)
	}
	return strings.TrimSuffix(fmt.Sprint(xs[:n]), "]") + " ...]"
}

func printModel(w io.Writer, path string, m *model.Model) error {
	root, err := m.Root()
	if err != nil {
		return err
	}
	shapes, _ := m.Shapes()
	counts := map[model.Kind]int{}
	params := 0
	for i := range m.Ops {
		counts[m.Ops[i].Kind]++
		if w := m.Ops[i].Weight; w != nil {
			params += len(w.Data)
		}
	}
	fmt.Fprintf(w, "Model %s (%s)\n  model root %s\n  input      %s %v width %d\n  ops        %d, %d int8 parameters, causal %v\n",
		path, model.FormatVersion, root.String(), m.Input.Name, m.Input.DType, m.Input.Width, len(m.Ops), params, m.IsCausal())
	var kinds []string
	for _, k := range model.Kinds {
		if counts[k] > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, counts[k]))
		}
	}
	fmt.Fprintf(w, "  kinds      %s\n", strings.Join(kinds, ", "))
	out := shapes[len(shapes)-1]
	fmt.Fprintf(w, "  output     %s %v width %s\n", m.Ops[len(m.Ops)-1].Name, out.DType, model.WidthString(out.Width))
	for i := range m.Ops {
		switch op := &m.Ops[i]; {
		case op.Kind == model.KindEmbed && op.In[0] == 0:
			fmt.Fprintf(w, "  vocabulary %d (%s)\n", op.Weight.Shape[0], op.Name)
		case op.Kind == model.KindPosition:
			fmt.Fprintf(w, "  context    %d positions (%s)\n", op.Weight.Shape[0], op.Name)
		}
	}
	return nil
}
