package circuits

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// ErrCeremony reports a ceremony file that is malformed, for another target or phase, or a
// contribution that does not verify.
var ErrCeremony = errors.New("ceremony")

const ceremonyMagic = "probity/mpc/v0\n"

// Ceremony phases.
const (
	Phase1 byte = 1 // powers of tau, circuit independent (only its size matters)
	Phase2 byte = 2 // circuit specific
	// PhaseCommons marks the SRS commons SealPhase1 writes: phase 1's sealed output, the
	// input of Verify and Finalize.
	PhaseCommons byte = 3
)

// Ceremony runs gnark's two-phase Groth16 MPC (backend/groth16/bn254/mpcsetup) for one
// target (a universal class). The keys are sound if at least one contributor destroyed its
// randomness. Every file starts with a header (magic, phase, target id) so a contribution
// cannot be fed to the wrong target or phase. The flow:
//
//	Init -> Contribute* (phase 1) -> SealPhase1(beacon) -> Contribute* (phase 2) -> Finalize(beacon)
//
// Verify and VerifyPhase1 let anyone check a transcript; Finalize verifies before it derives keys.
type Ceremony struct {
	Target Target // a universal class, or a test circuit
	ccs    *cs.R1CS
}

// NewCeremony compiles the target's circuit.
func NewCeremony(s Target) (*Ceremony, error) {
	ccs, err := s.Compile()
	if err != nil {
		return nil, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("%w: not a BN254 R1CS", ErrCeremony)
	}
	return &Ceremony{Target: s, ccs: r}, nil
}

func (c *Ceremony) domain() uint64 {
	return ecc.NextPowerOfTwo(uint64(c.ccs.GetNbConstraints()))
}

func (c *Ceremony) writeHeader(w io.Writer, phase byte) error {
	id := c.Target.ID()
	_, err := w.Write(append(append([]byte(ceremonyMagic), phase), id[:]...))
	return err
}

func (c *Ceremony) readHeader(r io.Reader) (byte, error) {
	h := make([]byte, len(ceremonyMagic)+1+32)
	if _, err := io.ReadFull(r, h); err != nil {
		return 0, fmt.Errorf("%w: reading header: %w", ErrCeremony, err)
	}
	if string(h[:len(ceremonyMagic)]) != ceremonyMagic {
		return 0, fmt.Errorf("%w: not a probity ceremony file", ErrCeremony)
	}
	phase := h[len(ceremonyMagic)]
	id := c.Target.ID()
	if !bytes.Equal(h[len(ceremonyMagic)+1:], id[:]) {
		return 0, fmt.Errorf("%w: file is for target 0x%x, this ceremony is %s", ErrCeremony, h[len(ceremonyMagic)+1:], c.Target)
	}
	if phase != Phase1 && phase != Phase2 && phase != PhaseCommons {
		return 0, fmt.Errorf("%w: unknown phase %d", ErrCeremony, phase)
	}
	return phase, nil
}

// Init writes the initial phase-1 state.
func (c *Ceremony) Init(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := c.writeHeader(bw, Phase1); err != nil {
		return err
	}
	if _, err := mpcsetup.NewPhase1(c.domain()).WriteTo(bw); err != nil {
		return fmt.Errorf("%w: %w", ErrCeremony, err)
	}
	return bw.Flush()
}

// Contribute reads the latest state of either phase, adds fresh randomness (from crypto/rand,
// discarded on return) and writes the next state.
func (c *Ceremony) Contribute(r io.Reader, w io.Writer) error {
	br := bufio.NewReader(r)
	phase, err := c.readHeader(br)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if err := c.writeHeader(bw, phase); err != nil {
		return err
	}
	switch phase {
	case Phase1:
		var p mpcsetup.Phase1
		if _, err := p.ReadFrom(br); err != nil {
			return fmt.Errorf("%w: phase 1 state: %w", ErrCeremony, err)
		}
		p.Contribute()
		_, err = p.WriteTo(bw)
	default:
		var p mpcsetup.Phase2
		if _, err := p.ReadFrom(br); err != nil {
			return fmt.Errorf("%w: phase 2 state: %w", ErrCeremony, err)
		}
		p.Contribute()
		_, err = p.WriteTo(bw)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCeremony, err)
	}
	return bw.Flush()
}

func (c *Ceremony) readPhase1(contribs []io.Reader) ([]*mpcsetup.Phase1, error) {
	if len(contribs) == 0 {
		return nil, fmt.Errorf("%w: phase 1 has no contribution", ErrCeremony)
	}
	out := make([]*mpcsetup.Phase1, len(contribs))
	for i, r := range contribs {
		br := bufio.NewReader(r)
		if ph, err := c.readHeader(br); err != nil {
			return nil, fmt.Errorf("phase 1 contribution %d: %w", i, err)
		} else if ph != Phase1 {
			return nil, fmt.Errorf("%w: contribution %d is phase %d, want 1", ErrCeremony, i, ph)
		}
		out[i] = new(mpcsetup.Phase1)
		if _, err := out[i].ReadFrom(br); err != nil {
			return nil, fmt.Errorf("%w: phase 1 contribution %d: %w", ErrCeremony, i, err)
		}
	}
	return out, nil
}

// VerifyPhase1 checks a phase-1 transcript (the contributions after Init, in order).
func (c *Ceremony) VerifyPhase1(contribs ...io.Reader) error {
	ps, err := c.readPhase1(contribs)
	if err != nil {
		return err
	}
	if _, err := mpcsetup.VerifyPhase1(c.domain(), []byte("verify only"), ps...); err != nil {
		return fmt.Errorf("%w: phase 1: %w", ErrCeremony, err)
	}
	return nil
}

// SealPhase1 verifies the phase-1 transcript, applies the public random beacon and writes
// the SRS commons (needed by Verify and Finalize) and the initial phase-2 state.
func (c *Ceremony) SealPhase1(beacon []byte, commons, phase2 io.Writer, contribs ...io.Reader) error {
	ps, err := c.readPhase1(contribs)
	if err != nil {
		return err
	}
	srs, err := mpcsetup.VerifyPhase1(c.domain(), beacon, ps...)
	if err != nil {
		return fmt.Errorf("%w: phase 1: %w", ErrCeremony, err)
	}
	cw := bufio.NewWriter(commons)
	if err := c.writeHeader(cw, PhaseCommons); err != nil {
		return err
	}
	if _, err := srs.WriteTo(cw); err != nil {
		return fmt.Errorf("%w: %w", ErrCeremony, err)
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	var p mpcsetup.Phase2
	p.Initialize(c.ccs, &srs)
	bw := bufio.NewWriter(phase2)
	if err := c.writeHeader(bw, Phase2); err != nil {
		return err
	}
	if _, err := p.WriteTo(bw); err != nil {
		return fmt.Errorf("%w: %w", ErrCeremony, err)
	}
	return bw.Flush()
}

func (c *Ceremony) phase2(beacon []byte, commons io.Reader, contribs []io.Reader) (*Keys, error) {
	srs, err := c.readCommons(commons)
	if err != nil {
		return nil, err
	}
	if len(contribs) == 0 {
		return nil, fmt.Errorf("%w: phase 2 has no contribution", ErrCeremony)
	}
	ps := make([]*mpcsetup.Phase2, len(contribs))
	for i, r := range contribs {
		br := bufio.NewReader(r)
		if ph, err := c.readHeader(br); err != nil {
			return nil, fmt.Errorf("phase 2 contribution %d: %w", i, err)
		} else if ph != Phase2 {
			return nil, fmt.Errorf("%w: contribution %d is phase %d, want 2", ErrCeremony, i, ph)
		}
		ps[i] = new(mpcsetup.Phase2)
		if _, err := ps[i].ReadFrom(br); err != nil {
			return nil, fmt.Errorf("%w: phase 2 contribution %d: %w", ErrCeremony, i, err)
		}
	}
	pk, vk, err := mpcsetup.VerifyPhase2(c.ccs, srs, beacon, ps...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 2: %w", ErrCeremony, err)
	}
	return newKeys(c.Target, c.ccs, pk, vk), nil
}

// readCommons reads SRS commons written by SealPhase1 for this target. The domain size is
// checked before gnark reads the points: it allocates whatever size the file states, and
// panics on commons of a smaller circuit.
func (c *Ceremony) readCommons(r io.Reader) (*mpcsetup.SrsCommons, error) {
	br := bufio.NewReader(r)
	phase, err := c.readHeader(br)
	if err != nil {
		return nil, fmt.Errorf("commons: %w", err)
	}
	if phase != PhaseCommons {
		return nil, fmt.Errorf("%w: commons: file is a phase %d state, not SRS commons", ErrCeremony, phase)
	}
	size, err := br.Peek(8)
	if err != nil {
		return nil, fmt.Errorf("%w: commons: %w", ErrCeremony, err)
	}
	if n := binary.BigEndian.Uint64(size); n != c.domain() {
		return nil, fmt.Errorf("%w: commons: domain size %d, this circuit needs %d", ErrCeremony, n, c.domain())
	}
	var srs mpcsetup.SrsCommons
	if _, err := srs.ReadFrom(br); err != nil {
		return nil, fmt.Errorf("%w: commons: %w", ErrCeremony, err)
	}
	return &srs, nil
}

// CheckCommons reads SRS commons on their own, so that a bad commons file is reported as
// such rather than blamed on a contribution.
func (c *Ceremony) CheckCommons(r io.Reader) error {
	_, err := c.readCommons(r)
	return err
}

// Verify checks a phase-2 transcript against the sealed phase-1 commons.
func (c *Ceremony) Verify(commons io.Reader, contribs ...io.Reader) error {
	_, err := c.phase2([]byte("verify only"), commons, contribs)
	return err
}

// Finalize verifies the phase-2 transcript, applies the beacon and returns the keys.
func (c *Ceremony) Finalize(beacon []byte, commons io.Reader, contribs ...io.Reader) (*Keys, error) {
	return c.phase2(beacon, commons, contribs)
}
