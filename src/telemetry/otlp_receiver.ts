/**
 * A small OTLP/HTTP receiver on loopback, for the tests and the benchmark: it takes what Deno
 * exports with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` (`POST /v1/metrics`, `/v1/traces`,
 * `/v1/logs`), keeps it (or only counts it), and reads metric points and spans back out of it.
 * Not a collector: nothing is aggregated beyond what the tests ask.
 *
 * @module
 */

/** An attribute value as OTLP/JSON carries it. */
type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
};

/** Attributes as plain values. */
export type PlainAttributes = Record<string, string | number | boolean>;

/** One data point of a metric, flattened with its metric and the process that sent it. */
export interface MetricPoint {
  /** The sender's `service.name`. */
  readonly service: string;
  readonly name: string;
  readonly unit: string;
  readonly kind: "sum" | "gauge" | "histogram";
  readonly attributes: PlainAttributes;
  readonly timeUnixNano: bigint;
  /** A sum's or a gauge's value. */
  readonly value?: number;
  /** A histogram's count and sum. */
  readonly count?: number;
  readonly sum?: number;
}

/** One span, with the process that sent it. */
export interface SpanRecord {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: PlainAttributes;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  /** When it started and ended, in ns since the epoch. */
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
}

function plain(attributes: { key: string; value: AnyValue }[] = []): PlainAttributes {
  const out: PlainAttributes = {};
  for (const { key, value } of attributes) {
    out[key] = value.stringValue ?? value.boolValue ??
      (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue ?? "");
  }
  return out;
}

// The parts of OTLP/JSON read here.
interface Resource {
  attributes?: { key: string; value: AnyValue }[];
}
interface JsonPoint {
  attributes?: { key: string; value: AnyValue }[];
  timeUnixNano?: string;
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
  sum?: number;
}
interface JsonMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints?: JsonPoint[] };
  gauge?: { dataPoints?: JsonPoint[] };
  histogram?: { dataPoints?: JsonPoint[] };
}
interface MetricsBody {
  resourceMetrics?: { resource?: Resource; scopeMetrics?: { metrics?: JsonMetric[] }[] }[];
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number };
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
}
interface TracesBody {
  resourceSpans?: { resource?: Resource; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

function serviceOf(resource: Resource | undefined): string {
  return String(plain(resource?.attributes)["service.name"] ?? "");
}

/** The metric points in one `/v1/metrics` body. */
export function metricPoints(body: unknown): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const rm of (body as MetricsBody).resourceMetrics ?? []) {
    const service = serviceOf(rm.resource);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const kind = metric.sum
          ? "sum"
          : metric.gauge
          ? "gauge"
          : metric.histogram
          ? "histogram"
          : null;
        if (kind === null) continue;
        for (const p of metric[kind]!.dataPoints ?? []) {
          points.push({
            service,
            name: metric.name,
            unit: metric.unit ?? "",
            kind,
            attributes: plain(p.attributes),
            timeUnixNano: BigInt(p.timeUnixNano ?? 0),
            ...(kind === "histogram"
              ? { count: Number(p.count ?? 0), sum: p.sum ?? 0 }
              : { value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble ?? 0 }),
          });
        }
      }
    }
  }
  return points;
}

/** The spans in one `/v1/traces` body. */
export function spanRecords(body: unknown): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (const rs of (body as TracesBody).resourceSpans ?? []) {
    const service = serviceOf(rs.resource);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        spans.push({
          service,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? "",
          name: span.name,
          attributes: plain(span.attributes),
          statusCode: span.status?.code ?? 0,
          startUnixNano: BigInt(span.startTimeUnixNano ?? 0),
          endUnixNano: BigInt(span.endTimeUnixNano ?? 0),
        });
      }
    }
  }
  return spans;
}

/**
 * The latest point of each series (service, metric, attributes) named `name`: with cumulative
 * temporality (Deno's), that is the series' value so far.
 */
export function latestPoints(points: readonly MetricPoint[], name: string): MetricPoint[] {
  const latest = new Map<string, MetricPoint>();
  for (const point of points) {
    if (point.name !== name) continue;
    const series = JSON.stringify([point.service, Object.entries(point.attributes).sort()]);
    const seen = latest.get(series);
    if (!seen || seen.timeUnixNano <= point.timeUnixNano) latest.set(series, point);
  }
  return [...latest.values()];
}

/** Options for {@linkcode OtlpReceiver.start}. */
export interface OtlpReceiverOptions {
  /** Keep what arrives (tests) or only count it (the benchmark, a viewer). @default {true} */
  readonly keep?: boolean;
  /** Called with the metric points of each export. @default {none} */
  readonly onMetrics?: (points: MetricPoint[]) => void;
  /** Called with the spans of each export. @default {none} */
  readonly onSpans?: (spans: SpanRecord[]) => void;
  /** Called with the reason when an export cannot be read (it gets a 4xx). @default {none} */
  readonly onRefused?: (reason: string) => void;
  /** Address to listen on. @default {"127.0.0.1"} */
  readonly hostname?: string;
  /** Port; 0 picks a free one. @default {0} */
  readonly port?: number;
}

/** The answer to an export that is not OTLP/JSON (Deno's default is protobuf). */
export const JSON_ONLY =
  "this receiver reads OTLP/HTTP as JSON only: export with OTEL_EXPORTER_OTLP_PROTOCOL=http/json";

/** A running receiver; see the module documentation. */
export class OtlpReceiver implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #metrics: MetricPoint[] = [];
  readonly #spans: SpanRecord[] = [];
  #requests = 0;
  #bytes = 0;

  private constructor(options: OtlpReceiverOptions) {
    const { keep = true, onMetrics, onSpans, onRefused } = options;
    const refuse = (reason: string, status: number) => {
      onRefused?.(reason);
      return new Response(reason, { status });
    };
    this.#server = Deno.serve(
      { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      async (request) => {
        const body = await request.text();
        this.#requests++;
        this.#bytes += body.length;
        if (!request.headers.get("content-type")?.includes("json")) return refuse(JSON_ONLY, 415);
        const path = new URL(request.url).pathname;
        try {
          if (path === "/v1/metrics") {
            const points = metricPoints(JSON.parse(body));
            if (keep) this.#metrics.push(...points);
            onMetrics?.(points);
          } else if (path === "/v1/traces") {
            const spans = spanRecords(JSON.parse(body));
            if (keep) this.#spans.push(...spans);
            onSpans?.(spans);
          }
        } catch (error) {
          return refuse(`cannot read this export: ${error}`, 400);
        }
        return Response.json({});
      },
    );
  }

  /**
   * Starts listening (on a free port of 127.0.0.1 by default).
   *
   * @throws {Deno.errors.AddrInUse} If the port is taken.
   */
  static start(options: OtlpReceiverOptions = {}): OtlpReceiver {
    return new OtlpReceiver(options);
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** The base URL to export to (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  get endpoint(): string {
    return `http://${this.#server.addr.hostname}:${this.#server.addr.port}`;
  }

  /**
   * The environment that makes a Deno process export here, as `service`, over OTLP/HTTP JSON,
   * with metrics every `intervalMs`.
   */
  env(service: string, intervalMs = 500): Record<string, string> {
    return {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(intervalMs),
      OTEL_SERVICE_NAME: service,
    };
  }

  /** Every metric point received so far. */
  get metrics(): readonly MetricPoint[] {
    return this.#metrics;
  }

  /** Every span received so far. */
  get spans(): readonly SpanRecord[] {
    return this.#spans;
  }

  /** Requests and body bytes received so far. */
  get received(): { readonly requests: number; readonly bytes: number } {
    return { requests: this.#requests, bytes: this.#bytes };
  }

  /** Stops listening. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
