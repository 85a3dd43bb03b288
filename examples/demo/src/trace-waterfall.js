// Renders one trace's finished spans (OpenTelemetry SDK ReadableSpans) as a terminal waterfall:
// one line per span, indented under its parent, with its duration and a bar placed on the
// trace's time line. Spans linked to the trace (a job's consumer span links to its producer)
// follow as their own trees, under a "linked" heading.

const ms = (t) => t[0] * 1000 + t[1] / 1e6;
const idOf = (s) => s.spanContext().spanId;
const parentOf = (s) => s.parentSpanContext?.spanId ?? s.parentSpanId;

/** The attributes worth a glance, in a few words. */
function detail(span) {
  const a = span.attributes;
  const parts = [];
  const pick = (key, label = '') => {
    if (a[key] !== undefined) parts.push(`${label}${a[key]}`);
  };
  pick('server.port', ':');
  pick('http.response.status_code', 'status ');
  if (a['http.request.resend_count']) parts.push(`resend ${a['http.request.resend_count']}`);
  pick('db.operation.batch.size', 'batch ');
  pick('voelgoed.lock.attempts', 'attempts ');
  pick('voelgoed.lock.fencing_token', 'token ');
  pick('messaging.destination.name', 'queue ');
  pick('messaging.message.id', 'job ');
  if (a['aws.s3.key'] === undefined) pick('voelgoed.storage.key', 'key ');
  pick('aws.s3.key', 'key ');
  if (a['error.type'] !== undefined) parts.push(`error ${a['error.type']}`);
  return parts.join(' · ');
}

function tree(spans, rootIds) {
  const children = new Map();
  for (const s of spans) {
    const p = parentOf(s);
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(s);
  }
  for (const list of children.values()) list.sort((x, y) => ms(x.startTime) - ms(y.startTime));
  const ordered = [];
  const walk = (span, depth) => {
    ordered.push({ span, depth });
    for (const c of children.get(idOf(span)) ?? []) walk(c, depth + 1);
  };
  for (const s of spans.filter((x) => rootIds.has(idOf(x)))) walk(s, 0);
  return ordered;
}

/**
 * Lines of the waterfall for the trace `traceId` among `spans`, plus the traces linked to it.
 * `width` is the bar's width in characters.
 */
export function renderWaterfall(spans, traceId, { width = 40, nameWidth = 34 } = {}) {
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  if (inTrace.length === 0) return [`(no spans for trace ${traceId})`];
  const ids = new Set(inTrace.map(idOf));
  const roots = new Set(inTrace.filter((s) => !ids.has(parentOf(s))).map(idOf));
  const linkedRoots = spans.filter(
    (s) => s.spanContext().traceId !== traceId && (s.links ?? []).some((l) => l.context.traceId === traceId),
  );
  const linkedTraces = new Set(linkedRoots.map((s) => s.spanContext().traceId));
  const linked = spans.filter((s) => linkedTraces.has(s.spanContext().traceId));
  const all = [...inTrace, ...linked];
  const t0 = Math.min(...all.map((s) => ms(s.startTime)));
  const t1 = Math.max(...all.map((s) => ms(s.endTime)));
  const scale = width / Math.max(t1 - t0, 1);
  const line = ({ span, depth }) => {
    const start = ms(span.startTime) - t0;
    const duration = ms(span.endTime) - ms(span.startTime);
    const from = Math.min(width - 1, Math.floor(start * scale));
    const length = Math.max(1, Math.round(duration * scale));
    const bar = `${' '.repeat(from)}${'█'.repeat(Math.min(length, width - from))}`.padEnd(width);
    const name = `${'  '.repeat(depth)}${span.name}`.slice(0, nameWidth).padEnd(nameWidth);
    const failed = span.status?.code === 2 ? ' ✗' : '';
    return `${name} ${duration.toFixed(1).padStart(8)} ms │${bar}│ ${detail(span)}${failed}`;
  };
  const out = [`trace ${traceId} · ${inTrace.length} spans · ${(t1 - t0).toFixed(1)} ms`];
  for (const entry of tree(inTrace, roots)) out.push(line(entry));
  if (linked.length > 0) {
    out.push(`linked (a job's consumer span links back to this trace) · ${linked.length} spans`);
    const linkedIds = new Set(linked.map(idOf));
    const linkedTreeRoots = new Set(linked.filter((s) => !linkedIds.has(parentOf(s))).map(idOf));
    for (const entry of tree(linked, linkedTreeRoots)) out.push(line(entry));
  }
  return out;
}
