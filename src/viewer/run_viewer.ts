/**
 * `deno task otel`: a receiver for OTLP/HTTP (JSON) on this machine that prints what the suite's
 * processes export, with nothing else to install: each trace as a tree once it has been quiet for
 * a moment (a query's path through the overlay), and every few seconds the latest `likes.*`
 * metrics by service. Keeps only the traces not yet printed and the latest point of each series.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  LISTEN_HOST_FLAG,
  parseFlags,
  parseHost,
  parseInteger,
  parseSeconds,
  UsageError,
} from "../cli/flags.ts";
import { onStopSignal } from "../cli/signals.ts";
import { formatMetrics } from "./metrics_table.ts";
import {
  latestPoints,
  type MetricPoint,
  OtlpReceiver,
  type SpanRecord,
} from "../telemetry/otlp_receiver.ts";
import { formatTrace } from "./trace_tree.ts";

/** Traces remembered after they were printed, so that late spans reprint them whole. */
const PRINTED_KEPT = 200;

const FLAGS: Flag[] = [
  LISTEN_HOST_FLAG,
  {
    name: "port",
    type: "string",
    value: "PORT",
    default: "4318",
    help: "OTLP/HTTP port (4318 is where Deno exports by default); 0 picks a free one",
  },
  {
    name: "trace-wait",
    type: "string",
    value: "SECONDS",
    default: "6",
    help: "print a trace once no span of it arrived for this long (Deno sends spans every 5 s, " +
      "or sooner with OTEL_BSP_SCHEDULE_DELAY=MS); a late span prints it again, whole",
  },
  {
    name: "metrics-every",
    type: "string",
    value: "SECONDS",
    default: "10",
    help: "print the latest likes.* metrics this often when they changed (0: only at the end)",
  },
];

/** Validated viewer settings. */
export interface ViewerConfig {
  readonly host: string;
  readonly port: number;
  readonly traceWaitMs: number;
  readonly metricsEveryMs: number;
}

/** The `--help` text. */
export function viewerUsage(): string {
  return formatUsage(
    "deno task otel",
    "Receives OpenTelemetry from the suite's processes and prints it: each trace as a tree, and the\n" +
      "latest likes.* metrics by service. Run the programs with OTEL_DENO=true and\n" +
      "OTEL_EXPORTER_OTLP_PROTOCOL=http/json (this receiver reads JSON, not protobuf).",
    FLAGS,
  );
}

/**
 * Parses the viewer's flags.
 *
 * @throws {UsageError} On any invalid flag or value.
 */
export function parseViewerFlags(args: readonly string[]): ViewerConfig | "help" {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return "help";
  return Object.freeze({
    host: parseHost("host", s.host!),
    port: parseInteger("port", s.port!, { min: 0, max: 65535 }),
    traceWaitMs: parseSeconds("trace-wait", s["trace-wait"]!, { min: 0, max: 600 }),
    metricsEveryMs: parseSeconds("metrics-every", s["metrics-every"]!, { min: 0, max: 3600 }),
  });
}

const encoder = new TextEncoder();
function print(text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

/** Runs the viewer until SIGINT/SIGTERM; resolves to the exit code. */
export async function runViewer(config: ViewerConfig): Promise<number> {
  const traces = new Map<
    string,
    { spans: SpanRecord[]; timer: ReturnType<typeof setTimeout> | undefined; printed: boolean }
  >();
  let series: MetricPoint[] = [];
  let changed = false;
  const flushTrace = (traceId: string) => {
    const trace = traces.get(traceId);
    if (!trace || trace.timer === undefined) return;
    clearTimeout(trace.timer);
    trace.timer = undefined;
    print(
      `\n${trace.printed ? "(again, with spans that came later) " : ""}${formatTrace(trace.spans)}`,
    );
    trace.printed = true;
    // Printed traces are kept a while for late spans; the oldest are forgotten.
    const printed = [...traces].filter(([, t]) => t.printed && t.timer === undefined);
    for (const [id] of printed.slice(0, Math.max(0, printed.length - PRINTED_KEPT))) {
      traces.delete(id);
    }
  };
  const printMetrics = () => {
    if (!changed) return;
    changed = false;
    print(`\nmetrics at ${new Date().toISOString()}:\n${formatMetrics(series)}`);
  };
  let warned = false;
  let receiver: OtlpReceiver;
  try {
    receiver = OtlpReceiver.start({
      hostname: config.host,
      port: config.port,
      keep: false,
      onSpans: (spans) => {
        for (const span of spans) {
          const trace = traces.get(span.traceId) ??
            { spans: [], timer: undefined, printed: false };
          trace.spans.push(span);
          clearTimeout(trace.timer);
          trace.timer = setTimeout(() => flushTrace(span.traceId), config.traceWaitMs);
          traces.set(span.traceId, trace);
        }
      },
      onMetrics: (points) => {
        const likes = points.filter((p) => p.name.startsWith("likes."));
        if (likes.length === 0) return;
        // Only the latest point of each series is kept.
        const names = [...new Set([...series, ...likes].map((p) => p.name))];
        series = names.flatMap((name) => latestPoints([...series, ...likes], name));
        changed = true;
      },
      onRefused: (reason) => {
        if (warned) return;
        warned = true;
        print(`\nan export was refused: ${reason}\n`);
      },
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`${config.host}:${config.port} is in use; pick another with --port`);
    }
    throw error;
  }
  const ticker = config.metricsEveryMs > 0
    ? setInterval(printMetrics, config.metricsEveryMs)
    : undefined;
  print(
    `listening on ${config.host}:${receiver.port} (OTLP/HTTP JSON); export to it with\n` +
      `  OTEL_DENO=true OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.endpoint}\n`,
  );
  using stop = onStopSignal();
  await stop.received;
  clearInterval(ticker);
  await receiver[Symbol.asyncDispose]();
  for (const traceId of [...traces.keys()]) flushTrace(traceId);
  printMetrics();
  return 0;
}
