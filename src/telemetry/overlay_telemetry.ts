/**
 * An overlay node's telemetry. Its main thread carries the shared cache's counters over to
 * `likes.cache.hits` / `likes.cache.misses` and the replica's staleness to `likes.gossip.lag`
 * (see `carry_over.ts`); its query Workers open one span per query that reaches the node (a
 * child of the caller's span, named by the `traceparent` the query carries) and record
 * `likes.query.duration` {verb}.
 *
 * @module
 */

import {
  type Attributes,
  type Histogram,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { type CarryOver, carryOver, delta } from "./carry_over.ts";
import { likesMeter, likesTracer, msHistogram, telemetryEnabled } from "./otel.ts";
import { formatTraceparent, parseTraceparent, randomSpanContext } from "./trace_context.ts";

/** What a node's main thread shows the metrics. */
export interface NodeGauges {
  /** The shared cache's hits and misses so far. */
  cacheStats(): { readonly hits: number; readonly misses: number };
  /** How far behind the freshest each owner's part of the replica is, in ms, by owner. */
  lagMs(): Readonly<Record<string, number>>;
}

/**
 * Carries a node's cache counters and gossip lag over to the metrics until stopped. Does nothing
 * while telemetry is off.
 */
export function exportNodeMetrics(node: NodeGauges): CarryOver {
  if (!telemetryEnabled()) return { stop() {} };
  const meter = likesMeter();
  const hits = meter.createCounter("likes.cache.hits", {
    description: "Queries answered from this node's answer cache",
    unit: "{query}",
  });
  const misses = meter.createCounter("likes.cache.misses", {
    description: "Queries this node's answer cache could not answer",
    unit: "{query}",
  });
  const lag = meter.createGauge("likes.gossip.lag", {
    description: "How far behind the freshest replica this node's copy of each owner's counts is",
    unit: "ms",
  });
  const pushHits = delta(() => node.cacheStats().hits, (d) => hits.add(d));
  const pushMisses = delta(() => node.cacheStats().misses, (d) => misses.add(d));
  return carryOver(() => {
    pushHits();
    pushMisses();
    for (const [owner, ms] of Object.entries(node.lagMs())) lag.record(ms, { owner });
  });
}

let queryDuration: Histogram | undefined;

/** Ends `span` with `attributes`, marked as an error when there is a `failure`. */
function endSpan(span: Span, attributes: Attributes, failure: string | undefined): void {
  span.setAttributes(attributes);
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}

/** One query's visit to a node, as a span and a `likes.query.duration` sample. */
export class QueryVisit {
  readonly #span: Span;
  readonly #started = performance.now();
  #verb: string | undefined;

  /**
   * Starts the visit of node `node`, as a child of the span `traceparent` names (a new trace
   * when it names none).
   */
  constructor(node: string, traceparent: unknown) {
    const parent = parseTraceparent(traceparent);
    const context = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    this.#span = likesTracer().startSpan("query", {
      kind: SpanKind.SERVER,
      attributes: { node },
    }, context);
  }

  /**
   * The `traceparent` to send to the nodes this one asks: this visit's span, or (when this
   * process records nothing) the caller's, so the trace goes on through it.
   */
  get traceparent(): string | undefined {
    return formatTraceparent(this.#span.spanContext());
  }

  /** Names the query once it was checked. */
  asked(verb: string, attributes: Attributes): void {
    this.#verb = verb;
    this.#span.updateName(`query ${verb}`);
    this.#span.setAttributes({ verb, ...attributes });
  }

  /** Ends the visit: what it answered, or why it failed. */
  end(attributes: Attributes, failure?: string): void {
    endSpan(this.#span, attributes, failure);
    if (this.#verb === undefined || !telemetryEnabled()) return;
    queryDuration ??= msHistogram(
      "likes.query.duration",
      "How long a node took to answer a query, by verb",
    );
    queryDuration.record(performance.now() - this.#started, { verb: this.#verb });
  }
}

/**
 * A client's query, as the root span of its trace. The trace id exists even when this process
 * records nothing (it is then made up), so the client can always print it and every node's
 * span joins the same trace.
 */
export class QueryCall {
  readonly #span: Span;
  /** The `traceparent` the query carries to the node asked. */
  readonly traceparent: string;
  /** The trace's id, to print. */
  readonly traceId: string;

  /** Starts the call of `verb` to the node at `target` (`host:port`). */
  constructor(verb: string, target: string) {
    this.#span = likesTracer().startSpan(`query ${verb}`, {
      kind: SpanKind.CLIENT,
      attributes: { verb, "server.address": target },
    }, ROOT_CONTEXT);
    const recorded = this.#span.spanContext();
    const context = formatTraceparent(recorded) ? recorded : randomSpanContext();
    this.traceparent = formatTraceparent(context)!;
    this.traceId = context.traceId;
  }

  /** Ends the call: what came back, or why it failed. */
  end(attributes: Attributes, failure?: string): void {
    endSpan(this.#span, attributes, failure);
  }
}
