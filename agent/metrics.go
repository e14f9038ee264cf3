package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus series, on a registry of its own.
type metrics struct {
	reg           *prometheus.Registry
	seen          prometheus.Counter
	sealed        prometheus.Counter
	sealedBytes   prometheus.Counter
	shredded      *prometheus.CounterVec
	pruned        *prometheus.CounterVec
	failed        *prometheus.CounterVec
	stuck         prometheus.Gauge
	dwell         prometheus.Histogram
	lastSuccess   prometheus.Gauge
	uploaded      prometheus.Counter
	uploadedBytes prometheus.Counter
}

func newMetrics(queue func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		seen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ckpt_agent_archives_seen_total", Help: "Checkpoint archives found complete in the watched directory.",
		}),
		sealed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ckpt_agent_archives_sealed_total", Help: "Archives sealed, read back and verified.",
		}),
		sealedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ckpt_agent_sealed_bytes_total", Help: "Plaintext bytes sealed.",
		}),
		shredded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ckpt_agent_archives_shredded_total", Help: "Plaintext archives shredded after sealing, by the assurance the storage allowed.",
		}, []string{"assurance"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ckpt_agent_checkpoints_pruned_total", Help: "Files removed by retention: sealed sets unlinked, plaintext shredded.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ckpt_agent_failures_total", Help: "Failed attempts, by reason; each is retried with backoff.",
		}, []string{"reason"}),
		stuck: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ckpt_agent_archives_incomplete", Help: "Archives that have stayed incomplete longer than stuck_after; never touched.",
		}),
		dwell: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ckpt_agent_plaintext_dwell_seconds",
			Help:    "Time from the archive's last write to the shred of its plaintext.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 14),
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ckpt_agent_last_success_timestamp_seconds", Help: "When an archive was last sealed (Unix time).",
		}),
	}
	m.uploaded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ckpt_agent_uploads_total", Help: "Sealed sets uploaded and confirmed whole in the store (failures: ckpt_agent_failures_total{reason=\"upload\"}).",
	})
	m.uploadedBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ckpt_agent_uploaded_bytes_total", Help: "Ciphertext bytes uploaded.",
	})
	queueLen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ckpt_agent_queue_length", Help: "Archives waiting to be checked, sealed or shredded, or being worked on.",
	}, queue)
	m.reg.MustRegister(m.seen, m.sealed, m.sealedBytes, m.shredded, m.pruned, m.failed, m.stuck, queueLen, m.dwell, m.lastSuccess, m.uploaded, m.uploadedBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, a := range []string{"overwritten", "best-effort"} {
		m.shredded.WithLabelValues(a)
	}
	for _, r := range failureReasons {
		m.failed.WithLabelValues(r)
	}
	return m
}

// failureReasons label ckpt_agent_failures_total.
var failureReasons = []string{"recipients", "sign_key", "seal", "verify", "shred", "prune", "scan", "audit", "upload"}

// server serves the metrics and health endpoints.
type server struct {
	srv *http.Server
	ln  net.Listener
}

// health is what /healthz and /readyz report: the main loop beats at
// least once per rescan; readiness comes with the first full scan.
type health struct {
	beat  atomic.Int64
	ready atomic.Bool
	limit time.Duration
}

func (h *health) alive() bool {
	return time.Since(time.Unix(0, h.beat.Load())) < h.limit
}

func startServer(addr string, m *metrics, h *health, pubkey func() string) (*server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !h.alive() {
			http.Error(w, "main loop stalled", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "first scan not finished", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/pubkey", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(pubkey()))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener closed under us; shutdown reports nothing more
		}
	}()
	return s, nil
}

func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}
