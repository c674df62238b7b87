package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/probitylabs/probity/attestation"
)

// Summary is the telemetry of a job window and the telemetry fields the device did not support.
type Summary struct {
	Telemetry   attestation.Telemetry
	Unsupported []string
}

// DefaultInterval is the sampling period: NVML's utilization counters refresh at about
// 1/6 s to 1 s depending on the GPU, so faster sampling reads the same values.
const DefaultInterval = 100 * time.Millisecond

// Sampler polls a device's telemetry in a goroutine between Start and Stop.
type Sampler struct {
	dev      nvml.Device
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	acc     accumulator
	u       unsup
}

// NewSampler samples c's device every interval (DefaultInterval when zero).
func (c *Collector) NewSampler(interval time.Duration) *Sampler {
	return newSampler(c.dev, interval, time.Now)
}

func newSampler(dev nvml.Device, interval time.Duration, now func() time.Time) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Sampler{dev: dev, interval: interval, now: now}
}

type stat struct {
	n        uint64
	sum      uint64
	min, max uint32
}

func (s *stat) add(v uint32) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if v > s.max {
		s.max = v
	}
	s.n++
	s.sum += uint64(v)
}

func (s *stat) avg() uint32 {
	if s.n == 0 {
		return 0
	}
	return uint32(s.sum / s.n)
}

type accumulator struct {
	startMs, endMs    uint64
	samples           uint32
	utilGPU, utilMem  stat
	smClock, memClock stat
	power             stat
	memUsedMax        uint64
	reasons           uint64
	energyStart       uint64
	energyEnd         uint64
	energyOK          bool
	skip              map[string]bool // fields found unsupported: not asked again
}

// ErrSamplerState: Start twice, or Stop before Start.
var ErrSamplerState = errors.New("gpu: sampler started twice or stopped before start")

// Start takes the first sample and the energy counter, then samples every interval until Stop
// or until ctx ends.
func (s *Sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrSamplerState
	}
	s.started = true
	s.acc.skip = map[string]bool{}
	s.acc.startMs = uint64(s.now().UnixMilli())
	if e, ret := s.dev.GetTotalEnergyConsumption(); s.u.ok("telemetry.energyMj", "GetTotalEnergyConsumption", ret) {
		s.acc.energyStart, s.acc.energyOK = e, true
	}
	s.sampleLocked()
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx)
	return nil
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.sampleLocked()
			s.mu.Unlock()
		}
	}
}

// Stop ends sampling, takes a last sample and the energy counter, and summarises. A hard NVML
// error during the window (not NOT_SUPPORTED) is returned with the summary so far.
func (s *Sampler) Stop() (*Summary, error) {
	s.mu.Lock()
	if !s.started || s.cancel == nil {
		s.mu.Unlock()
		return nil, ErrSamplerState
	}
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	cancel()
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sampleLocked()
	a := &s.acc
	a.endMs = uint64(s.now().UnixMilli())
	if a.energyOK {
		if e, ret := s.dev.GetTotalEnergyConsumption(); s.u.ok("telemetry.energyMj", "GetTotalEnergyConsumption", ret) {
			a.energyEnd = e
		} else {
			a.energyOK = false
		}
	}
	t := attestation.Telemetry{
		StartMs: a.startMs, EndMs: max(a.endMs, a.startMs), Samples: a.samples,
		UtilGPU:            attestation.MinAvgMax{Min: a.utilGPU.min, Avg: a.utilGPU.avg(), Max: a.utilGPU.max},
		UtilMem:            attestation.MinAvgMax{Min: a.utilMem.min, Avg: a.utilMem.avg(), Max: a.utilMem.max},
		MemoryUsedMaxBytes: a.memUsedMax,
		SMClockMHz:         attestation.AvgMax{Avg: a.smClock.avg(), Max: a.smClock.max},
		MemClockMHz:        attestation.AvgMax{Avg: a.memClock.avg(), Max: a.memClock.max},
		PowerMw:            attestation.AvgMax{Avg: a.power.avg(), Max: a.power.max},
		ThrottleReasons:    a.reasons,
	}
	if a.energyOK && a.energyEnd >= a.energyStart {
		t.EnergyMj = a.energyEnd - a.energyStart
	} else if a.energyOK {
		// The counter only resets with the driver; a decrease means the window is unusable.
		s.u.ok("telemetry.energyMj", "GetTotalEnergyConsumption", nvml.ERROR_NOT_SUPPORTED)
	}
	sum := &Summary{Telemetry: t, Unsupported: s.u.list()}
	if s.u.err != nil {
		return sum, fmt.Errorf("gpu: sampling: %w", s.u.err)
	}
	return sum, nil
}

// sampleLocked reads one sample; a metric found unsupported is not asked again.
func (s *Sampler) sampleLocked() {
	a := &s.acc
	d := s.dev
	a.samples++
	ask := func(field string) bool { return !a.skip[field] }
	mark := func(field, call string, ret nvml.Return) bool {
		ok := s.u.ok(field, call, ret)
		if !ok && unsupported(ret) {
			a.skip[field] = true
		}
		return ok
	}
	if ask("telemetry.utilGpu") {
		if u, ret := d.GetUtilizationRates(); mark("telemetry.utilGpu", "GetUtilizationRates", ret) {
			a.utilGPU.add(u.Gpu)
			a.utilMem.add(u.Memory)
		} else if a.skip["telemetry.utilGpu"] {
			a.skip["telemetry.utilMem"] = true
			s.u.ok("telemetry.utilMem", "GetUtilizationRates", ret)
		}
	}
	if ask("telemetry.memoryUsedMaxBytes") {
		if m, ret := d.GetMemoryInfo(); mark("telemetry.memoryUsedMaxBytes", "GetMemoryInfo", ret) {
			a.memUsedMax = max(a.memUsedMax, m.Used)
		}
	}
	if ask("telemetry.smClockMHz") {
		if v, ret := d.GetClockInfo(nvml.CLOCK_SM); mark("telemetry.smClockMHz", "GetClockInfo(SM)", ret) {
			a.smClock.add(v)
		}
	}
	if ask("telemetry.memClockMHz") {
		if v, ret := d.GetClockInfo(nvml.CLOCK_MEM); mark("telemetry.memClockMHz", "GetClockInfo(MEM)", ret) {
			a.memClock.add(v)
		}
	}
	if ask("telemetry.powerMw") {
		if v, ret := d.GetPowerUsage(); mark("telemetry.powerMw", "GetPowerUsage", ret) {
			a.power.add(v)
		}
	}
	if ask("telemetry.throttleReasons") {
		// Clock "event" reasons replaced "throttle" reasons in driver 535; fall back for older.
		r, ret := d.GetCurrentClocksEventReasons()
		if unsupported(ret) {
			r, ret = d.GetCurrentClocksThrottleReasons()
		}
		if mark("telemetry.throttleReasons", "GetCurrentClocksEventReasons", ret) {
			a.reasons |= r
		}
	}
}
