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
  /** Counter: label values folded into `other` by the cardinality guard. */
  labelOverflow: 'voelgoed_telemetry_label_overflow_total',
  /** Counter: event handlers or observable callbacks that failed. */
  errors: 'voelgoed_telemetry_errors_total',
} as const;

/** Default histogram buckets for durations, in seconds (0.5 ms to 60 s). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Buckets of {@link MetricNames.lockAcquireAttempts}. */
export const ATTEMPT_BUCKETS: readonly number[] = [1, 2, 3, 5, 10, 20, 50, 100];

/** Default per-label limit of distinct values before the guard folds new ones into `other`. */
export const DEFAULT_MAX_LABEL_VALUES = 100;
