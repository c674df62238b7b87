package prover

import (
	"context"
	"net/http"

	"github.com/probitylabs/probity/internal/serve"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the node's Prometheus metrics. Each Node gets its own registry, so tests
// can run several nodes in one process.
type Metrics struct {
	Registry     *prometheus.Registry
	Jobs         *prometheus.GaugeVec     // jobs by journal step
	Transitions  *prometheus.CounterVec   // step transitions
	Refused      *prometheus.CounterVec   // refused jobs by reason
	StepSeconds  *prometheus.HistogramVec // execute, commit, prove, submit
	ProveSeconds *prometheus.HistogramVec // per layer, by shape
	GasUsed      *prometheus.CounterVec   // gas units by transaction kind
	GasSpentWei  prometheus.Counter
	StakeAtRisk  prometheus.Gauge // token units reserved by jobs in flight (float, may round)
	Earned       prometheus.Counter
	RPCRetries   *prometheus.CounterVec
	TxReplaced   prometheus.Counter
	// ExecutorFailures counts failed executions and failed self-tests.
	ExecutorFailures prometheus.Counter
	// SharedKey is 1 once another node was seen locking jobs with this provider key.
	SharedKey prometheus.Gauge
	// Answers counts the answers to challenges, sent or failed (and tried again).
	Answers *prometheus.CounterVec
	// OCSPMissing counts GPU certificates left without a stapled OCSP response.
	OCSPMissing prometheus.Counter
}

// NewMetrics registers the node's metrics on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probity_prover_jobs", Help: "Jobs in the journal by step."},
			[]string{"state"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_prover_job_transitions_total", Help: "Jobs reaching a step."},
			[]string{"state"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_prover_refused_jobs_total", Help: "Jobs not taken, by reason."},
			[]string{"reason"}),
		StepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "probity_prover_step_seconds", Help: "Duration of job steps.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)}, []string{"step"}),
		ProveSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "probity_prover_proving_seconds", Help: "Groth16 proving time per layer.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"shape"}),
		GasUsed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_prover_gas_used_total", Help: "Gas used by the node's transactions."},
			[]string{"tx"}),
		GasSpentWei: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_prover_gas_spent_wei_total", Help: "Fees paid (gas used times effective price)."}),
		StakeAtRisk: prometheus.NewGauge(prometheus.GaugeOpts{Name: "probity_prover_stake_at_risk_tokens", Help: "Stake reserved by locked jobs, in token base units."}),
		Earned:      prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_prover_earned_tokens_total", Help: "Prices of settled jobs, in token base units."}),
		RPCRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_prover_rpc_retries_total", Help: "Retried RPC calls."},
			[]string{"op"}),
		TxReplaced: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_prover_tx_replaced_total", Help: "Stuck transactions replaced with higher fees."}),
		ExecutorFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_prover_executor_failures_total",
			Help: "Failed executions of locked jobs and failed executor self-tests."}),
		SharedKey: prometheus.NewGauge(prometheus.GaugeOpts{Name: "probity_prover_shared_provider_key",
			Help: "1 when another node locks jobs with this provider key (the node then takes no new jobs)."}),
		Answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "probity_prover_challenge_answers_total",
			Help: "Answers to challenges of the node's jobs: answered, or failed (tried again until the deadline)."}, []string{"outcome"}),
		OCSPMissing: prometheus.NewCounter(prometheus.CounterOpts{Name: "probity_prover_ocsp_missing_total",
			Help: "GPU certificates left without a stapled OCSP response (responder unreachable, or an unknown, invalid or stale answer)."}),
	}
	m.Registry.MustRegister(m.Jobs, m.Transitions, m.Refused, m.StepSeconds, m.ProveSeconds, m.GasUsed, m.GasSpentWei,
		m.StakeAtRisk, m.Earned, m.RPCRetries, m.TxReplaced, m.ExecutorFailures, m.SharedKey, m.Answers, m.OCSPMissing,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Serve serves /metrics on addr until ctx ends. It returns the bound address (addr may
// use port 0) once listening.
func (m *Metrics) Serve(ctx context.Context, addr string) (string, error) {
	return serve.Metrics(ctx, addr, m.Registry)
}
