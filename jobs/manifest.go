package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ManifestVersion is the version of the job manifest (spec §6.1).
const ManifestVersion = "probity.manifest.v0"

// ErrManifest matches every malformed manifest.
var ErrManifest = errors.New("invalid job manifest")

// Manifest is the document a job's inputURI names: the URIs of its activation and model
// files, absolute or relative to the manifest's own URI (spec §6.1).
type Manifest struct {
	Version string `json:"version"`
	Input   string `json:"input"`
	Model   string `json:"model"`
}

// NewManifest is the manifest of a job directory published as Dir lays it out: the files
// next to the manifest, by relative URI.
func NewManifest() Manifest {
	return Manifest{Version: ManifestVersion, Input: InputFile, Model: ModelFile}
}

// ParseManifest decodes a manifest strictly: unknown fields, trailing data, another version or
// a missing URI are errors wrapping ErrManifest.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the object", ErrManifest)
	}
	if m.Version != ManifestVersion {
		return nil, fmt.Errorf("%w: version %q, want %q", ErrManifest, m.Version, ManifestVersion)
	}
	if m.Input == "" || m.Model == "" {
		return nil, fmt.Errorf("%w: needs both input and model", ErrManifest)
	}
	return &m, nil
}

// Encode is the manifest as published: indented JSON with a final newline.
func (m Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
