// Package metrics defines what Switchboard exposes at /metrics: request
// latency by route pattern, messages ingested and sent, WebSocket clients,
// the database pools and statements, the job queue depth, and what
// anonymous visitors keep: web chat sessions and uploads not yet sent.
package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors that code updates as things happen.
type Metrics struct {
	Registry *prometheus.Registry

	RequestDuration  *prometheus.HistogramVec
	MessagesIngested *prometheus.CounterVec
	MessagesSent     *prometheus.CounterVec
	SendFailures     *prometheus.CounterVec
	WebSocketClients prometheus.Gauge
	StreamClients    prometheus.Gauge
	EventsDelivered  prometheus.Counter
}

// Sources are values read when /metrics is scraped.
type Sources struct {
	DBStats    func() sql.DBStats
	Statements func() int64
	// JobDepth returns waiting and failed jobs.
	JobDepth func(ctx context.Context) (waiting, failed int64, err error)
	// WebchatSessions returns the visitor sessions, and those whose
	// visitor never wrote.
	WebchatSessions func(ctx context.Context) (all, silent int64, err error)
	// Unattached returns the uploads not yet sent, and their bytes.
	Unattached func(ctx context.Context) (files, bytes int64, err error)
}

// New registers every collector.
func New(src Sources) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
		MessagesIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_messages_ingested_total",
			Help: "Customer messages stored, by channel (duplicates not counted).",
		}, []string{"channel"}),
		MessagesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_messages_sent_total",
			Help: "Messages handed to their channel by the outbox, by channel.",
		}, []string{"channel"}),
		SendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_message_send_failures_total",
			Help: "Outbox send attempts that failed, by channel and whether they will be retried.",
		}, []string{"channel", "retry"}),
		WebSocketClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_websocket_clients",
			Help: "Agent WebSocket connections open on this node.",
		}),
		StreamClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_webchat_stream_clients",
			Help: "Web chat visitor event streams open on this node.",
		}),
		EventsDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_realtime_events_delivered_total",
			Help: "Events written to agent and visitor connections.",
		}),
	}
	r.MustRegister(m.RequestDuration, m.MessagesIngested, m.MessagesSent, m.SendFailures, m.WebSocketClients, m.StreamClients, m.EventsDelivered)
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.DBStats != nil {
		stat := func(name, help string, v func(sql.DBStats) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_db_" + name, Help: help},
				func() float64 { return v(src.DBStats()) })
		}
		r.MustRegister(
			stat("open_connections", "Open database connections (read pool).", func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
			stat("in_use_connections", "Database connections in use.", func(s sql.DBStats) float64 { return float64(s.InUse) }),
			stat("idle_connections", "Idle database connections.", func(s sql.DBStats) float64 { return float64(s.Idle) }),
			stat("wait_count", "Total waits for a database connection.", func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
			stat("wait_seconds", "Total time waited for a database connection.", func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
		)
	}
	if src.Statements != nil {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "switchboard_db_statements_total",
			Help: "SQL statements run, including BEGIN and COMMIT.",
		}, func() float64 { return float64(src.Statements()) }))
	}
	for _, p := range []struct {
		fn         func(context.Context) (int64, int64, error)
		name, help [2]string
	}{
		{src.JobDepth,
			[2]string{"switchboard_jobs_waiting", "switchboard_jobs_failed"},
			[2]string{"Durable jobs waiting to run (due or scheduled).", "Durable jobs that ran out of attempts."}},
		{src.WebchatSessions,
			[2]string{"switchboard_webchat_sessions", "switchboard_webchat_sessions_silent"},
			[2]string{"Web chat visitor sessions.", "Web chat visitor sessions whose visitor never wrote (pruned a day after they start)."}},
		{src.Unattached,
			[2]string{"switchboard_attachments_unattached", "switchboard_attachments_unattached_bytes"},
			[2]string{"Uploads not yet sent with a message (removed after a day).", "Bytes of the uploads not yet sent."}},
	} {
		if p.fn != nil {
			r.MustRegister(&pair{fn: p.fn,
				a: prometheus.NewDesc(p.name[0], p.help[0], nil, nil),
				b: prometheus.NewDesc(p.name[1], p.help[1], nil, nil)})
		}
	}
	return m
}

// pair is two gauges read from the database with one query when scraped.
type pair struct {
	fn   func(ctx context.Context) (int64, int64, error)
	a, b *prometheus.Desc
}

func (p *pair) Describe(ch chan<- *prometheus.Desc) { ch <- p.a; ch <- p.b }

func (p *pair) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a, b, err := p.fn(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(p.a, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(p.a, prometheus.GaugeValue, float64(a))
	ch <- prometheus.MustNewConstMetric(p.b, prometheus.GaugeValue, float64(b))
}
