/**
 * Names of the metrics telemetry derives from the adapters' events (before the `prefix`).
 * OpenTelemetry semantic-convention names where one exists, mapped to Prometheus naming;
 * `voelgoed_*` where none does. The README lists each one's type, labels and meaning.
 */
export const MetricNames = {
  /** Histogram (s): one observation per Redis command. */
  redisCommandDuration: 'db_client_operation_duration_seconds',
  /** Histogram (s): time from `acquire` to holding the lock or giving up. */
  lockAcquireDuration: 'voelgoed_lock_acquire_duration_seconds',
  /** Histogram: attempts one `acquire` made. */
  lockAcquireAttempts: 'voelgoed_lock_acquire_attempts',
  /** Histogram (s): how long a released lock was held. */
  lockHeldDuration: 'voelgoed_lock_held_duration_seconds',
  /** Histogram (s): duration of one extension. */
  lockExtendDuration: 'voelgoed_lock_extend_duration_seconds',
  /** Counter: held locks that could not be kept. */
  lockLost: 'voelgoed_lock_lost_total',
  /** Histogram (s): one observation per HTTP attempt. */
  httpRequestDuration: 'http_client_request_duration_seconds',
  /** Counter: retries scheduled. */
  httpRetries: 'voelgoed_http_client_retries_total',
  /** Gauge per origin: 0 closed, 1 half-open, 2 open. */
  httpCircuitState: 'voelgoed_http_client_circuit_state',
  /** Counter: circuit breaker transitions, by the state entered. */
  httpCircuitTransitions: 'voelgoed_http_client_circuit_transitions_total',
  /** Gauge per origin: requests running inside the bulkhead. */
  httpBulkheadActive: 'voelgoed_http_client_bulkhead_active_requests',
  /** Gauge per origin: requests waiting for a bulkhead slot. */
  httpBulkheadQueued: 'voelgoed_http_client_bulkhead_queued_requests',
  /** Counter: requests the bulkhead turned away (queue full). */
  httpBulkheadRejected: 'voelgoed_http_client_bulkhead_rejected_total',
  /** Histogram (s): one observation per storage port operation. */
  storageOperationDuration: 'voelgoed_storage_operation_duration_seconds',
  /** Counter (bytes): bytes moved by storage operations that report them. */
  storageBytes: 'voelgoed_storage_transferred_bytes_total',
  /** Counter: steps of background jobs, by queue and event. */
  queueJobs: 'voelgoed_queue_jobs_total',
  /** Histogram (s): run time of job handlers, by queue and outcome. */
  queueJobDuration: 'voelgoed_queue_job_duration_seconds',
  /** Gauge: jobs of each observed queue by state, sampled at scrape time. */
  queueDepth: 'voelgoed_queue_depth',
  /** Gauge (s): age of each observed queue's longest-waiting ready job, sampled at scrape time. */
  queueOldestWaiting: 'voelgoed_queue_oldest_waiting_seconds',
  /** Counter: observed queues left out of a scrape because their `counts()` failed or timed out. */
  queueObserveErrors: 'voelgoed_queue_observe_errors_total',
  /** Counter: label values folded into `__other__` (too many distinct values, or too long). */
  labelOverflow: 'voelgoed_telemetry_label_overflow_total',
  /** Counter: new label sets sent to a metric's overflow series (the metric reached its cap). */
  seriesOverflow: 'voelgoed_telemetry_series_overflow_total',
  /** Counter: event handlers or observable callbacks that failed. */
  errors: 'voelgoed_telemetry_errors_total',
  /** Counter: observable callbacks that had not settled within their time box. */
  callbackTimeouts: 'voelgoed_telemetry_callback_timeouts_total',
} as const;

/** Default histogram buckets for durations, in seconds (0.5 ms to 60 s). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Buckets of {@link MetricNames.lockAcquireAttempts}. */
export const ATTEMPT_BUCKETS: readonly number[] = [1, 2, 3, 5, 10, 20, 50, 100];

/** Default per-label limit of distinct values before the guard folds new ones into `__other__`. */
export const DEFAULT_MAX_LABEL_VALUES = 100;

/** Default limit of distinct label sets per metric before new ones go to its overflow series. */
export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;

/** Default longest label value (UTF-16 code units) kept; longer values fold into `__other__`. */
export const DEFAULT_MAX_LABEL_VALUE_LENGTH = 256;

/** Default time box (ms) of each observable callback at a collection. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 1000;

/**
 * Default deadline (ms) of a whole scrape: the backstop for collectors registered by others
 * (Prometheus's own default scrape timeout is 10 s).
 */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;
