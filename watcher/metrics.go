package watcher

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the watcher's Prometheus metrics, on a registry of its own.
type Metrics struct {
	Registry *prometheus.Registry
	// Jobs counts proved jobs by what the check concluded (honest, skipped, withheld, ...).
	Jobs *prometheus.CounterVec
	// Challenges counts the watcher's challenges by outcome (opened, upheld, answered, voided).
	Challenges *prometheus.CounterVec
	// CheckSeconds is the time to fetch and recompute one job.
	CheckSeconds prometheus.Histogram
	// Elements counts the trace elements recomputed.
	Elements prometheus.Counter
	// Head and Cursor are the chain head and the last block scanned.
	Head, Cursor prometheus.Gauge
	// Bounties is the bounty earned, in token base units.
	Bounties prometheus.Counter
	// Errors counts failed checks and transactions, retried at the next poll.
	Errors *prometheus.CounterVec
}

// NewMetrics registers the watcher's metrics on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_watcher_jobs_total",
			Help: "Proved jobs checked, by outcome."}, []string{"outcome"}),
		Challenges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_watcher_challenges_total",
			Help: "The watcher's challenges, by outcome."}, []string{"outcome"}),
		CheckSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "probity_watcher_check_seconds",
			Help: "Time to fetch and recompute one job.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)}),
		Elements: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_watcher_elements_checked_total",
			Help: "Trace elements recomputed (every element of every op, input row and token)."}),
		Head:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "probity_watcher_head_block", Help: "The chain head seen."}),
		Cursor: prometheus.NewGauge(prometheus.GaugeOpts{Name: "probity_watcher_cursor_block", Help: "The last block scanned for JobProved."}),
		Bounties: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_watcher_bounty_tokens_total",
			Help: "Bounties earned by upheld challenges, in token base units."}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_watcher_errors_total",
			Help: "Failed checks and transactions (retried), by step."}, []string{"step"}),
	}
	m.Registry.MustRegister(m.Jobs, m.Challenges, m.CheckSeconds, m.Elements, m.Head, m.Cursor, m.Bounties, m.Errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
