package chain

import (
	"context"
)

// Params are the SLA manager's governance parameters (spec §10, §11). BountyBps and
// AbandonBps apply to jobs locked after a change; the minimum windows to jobs posted after.
type Params struct {
	DetectionFloorBps uint16
	BountyBps         uint16
	AbandonBps        uint16
	MinExecWindow     uint32 // seconds
	MinProveWindow    uint32 // seconds
}

// Params reads the manager's governance parameters.
func (c *Client) Params(ctx context.Context) (Params, error) {
	var p Params
	u16 := func(data []byte, unpack func([]byte) (uint16, error), dst *uint16) error {
		out, err := c.call(ctx, c.d.Manager, data)
		if err != nil {
			return err
		}
		*dst, err = unpack(out)
		return err
	}
	if err := u16(c.manager.PackDetectionFloorBps(), c.manager.UnpackDetectionFloorBps, &p.DetectionFloorBps); err != nil {
		return p, err
	}
	if err := u16(c.manager.PackBountyBps(), c.manager.UnpackBountyBps, &p.BountyBps); err != nil {
		return p, err
	}
	if err := u16(c.manager.PackAbandonBps(), c.manager.UnpackAbandonBps, &p.AbandonBps); err != nil {
		return p, err
	}
	var err error
	p.MinExecWindow, p.MinProveWindow, err = c.MinWindows(ctx)
	return p, err
}
