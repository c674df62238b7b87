package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
)

// `inspect --json`: Probity's own files as one JSON object each, with "kind" saying which.
// NVIDIA's reports, serialized evidence and certificate chains are binary formats whose
// decoding the text view is for; --json refuses them rather than invent a schema.

// inspectReport is `inspect --json`; the fields of other kinds are left out.
type inspectReport struct {
	Kind string `json:"kind"` // receipt, attestation, model, job, result, tensors, document
	File string `json:"file"`
	// receipt
	Signer         string `json:"signer,omitempty"`
	SignatureValid *bool  `json:"signatureValid,omitempty"`
	// model, job, result
	ModelRoot    string  `json:"modelRoot,omitempty"`
	JobDigest    string  `json:"jobDigest,omitempty"`
	Prompt       []int32 `json:"prompt,omitempty"`
	NewTokens    int     `json:"newTokens,omitempty"`
	Tokens       []int32 `json:"tokens,omitempty"`
	ResultDigest string  `json:"resultDigest,omitempty"`
	// tensor files
	Tensors  []tensorEntry     `json:"tensors,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// receipt, attestation record, other JSON documents: the document itself
	Document json.RawMessage `json:"document,omitempty"`
}

type tensorEntry struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// inspectJSON writes data's inspectReport; version is a JSON document's "version" ("" for
// safetensors files).
func inspectJSON(w io.Writer, path string, data []byte, isSafetensors bool, version string) error {
	r := inspectReport{File: path}
	switch {
	case isSafetensors:
		if err := describeTensors(&r, data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case version == receipt.Version:
		rc, err := receipt.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		valid := rc.VerifySignature() == nil
		r.Kind, r.Signer, r.SignatureValid, r.Document = "receipt", rc.NodeKey.Hex(), &valid, data
	default:
		r.Kind, r.Document = "document", data
		if version == attestation.Version {
			r.Kind = "attestation"
		}
	}
	if r.Document != nil && !json.Valid(r.Document) {
		return fmt.Errorf("%s: not valid JSON", path)
	}
	return writeJSON(w, r)
}

func describeTensors(r *inspectReport, data []byte) error {
	f, err := tensor.Read(bytes.NewReader(data))
	if err != nil {
		return err
	}
	r.Kind, r.Metadata = "tensors", f.Metadata
	for _, t := range f.Tensors {
		r.Tensors = append(r.Tensors, tensorEntry{t.Name, t.DType, t.Shape})
	}
	switch f.Metadata["probity.format"] {
	case model.FormatVersion:
		m, err := model.Parse(data)
		if err != nil {
			return err
		}
		root, err := m.Root()
		if err != nil {
			return err
		}
		r.Kind, r.ModelRoot, r.Tensors = "model", root.String(), nil // a model's tensors are its weights: thousands
	case jobs.JobFormat:
		j, err := jobs.ParseJob(data)
		if err != nil {
			return err
		}
		d, err := j.Digest()
		if err != nil {
			return err
		}
		r.Kind, r.JobDigest, r.ModelRoot, r.Prompt, r.NewTokens = "job", d.String(), j.ModelRoot.String(), j.Prompt, j.New
	default:
		if toks, err := jobs.ParseResult(data); err == nil {
			d, _ := jobs.ResultDigest(toks)
			r.Kind, r.Tokens, r.ResultDigest = "result", toks, d.String()
		}
	}
	return nil
}
