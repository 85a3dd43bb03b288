import { randomUUID } from 'node:crypto';

// What the topics of the Metrics suite share.

/** Values no instrument accepts. */
export const BAD_NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** A fresh, valid metric name (dots allowed, as in OpenTelemetry names). */
export const n = () => `conformance.m_${randomUUID().replaceAll('-', '')}`;
