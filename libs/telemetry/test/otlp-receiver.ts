import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * An OTLP/HTTP trace receiver on loopback for tests: takes what an OpenTelemetry exporter POSTs to `/v1/traces`
 * (protobuf, the default, or JSON), decodes it, and keeps the spans.
 */

export type AttributeValue = string | number | boolean | null | AttributeValue[];

export interface ReceivedSpan {
  /** `service.name` of the resource that sent it. */
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

export const SpanKindCode = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

export interface OtlpReceiver {
  /** Base URL for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Content types of the requests received, e.g. `application/x-protobuf`. */
  contentTypes: string[];
  close(): Promise<void>;
}

// ---- protobuf wire format (only what the OTLP trace messages use) ----

interface Field {
  number: number;
  wireType: number;
  /** varint value */
  int?: bigint;
  /** length-delimited bytes */
  bytes?: Uint8Array;
  /** fixed64 / fixed32 raw bytes */
  fixed?: Uint8Array;
}

function readVarint(buf: Uint8Array, at: { pos: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[at.pos++];
    if (byte === undefined) throw new Error('truncated varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const key = Number(readVarint(buf, at));
    const field: Field = { number: key >>> 3, wireType: key & 7 };
    switch (field.wireType) {
      case 0:
        field.int = readVarint(buf, at);
        break;
      case 1:
        field.fixed = buf.subarray(at.pos, at.pos + 8);
        at.pos += 8;
        break;
      case 2: {
        const length = Number(readVarint(buf, at));
        field.bytes = buf.subarray(at.pos, at.pos + length);
        at.pos += length;
        break;
      }
      case 5:
        field.fixed = buf.subarray(at.pos, at.pos + 4);
        at.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${field.wireType}`);
    }
    out.push(field);
  }
  return out;
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const hex = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('hex');
const all = (fs: Field[], n: number) => fs.filter((f) => f.number === n);
const one = (fs: Field[], n: number) => fs.find((f) => f.number === n);

function anyValue(buf: Uint8Array): AttributeValue {
  const f = fields(buf)[0];
  if (!f) return null;
  switch (f.number) {
    case 1:
      return text(f.bytes);
    case 2:
      return f.int !== 0n;
    case 3:
      return Number(BigInt.asIntN(64, f.int ?? 0n));
    case 4:
      return Buffer.from(f.fixed!).readDoubleLE(0);
    case 5:
      return all(fields(f.bytes!), 1).map((v) => anyValue(v.bytes!));
    default:
      return hex(f.bytes);
  }
}

function protoAttributes(fs: Field[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of fs) {
    const parts = fields(kv.bytes!);
    out[text(one(parts, 1)?.bytes)] = anyValue(one(parts, 2)?.bytes ?? new Uint8Array());
  }
  return out;
}

/** Decodes an `ExportTraceServiceRequest` in protobuf. */
export function decodeProtobufTraces(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of all(fields(body), 1)) {
    const rs = fields(resourceSpans.bytes!);
    const resource = fields(one(rs, 1)?.bytes ?? new Uint8Array());
    const service = String(protoAttributes(all(resource, 1))['service.name'] ?? '');
    for (const scopeSpans of all(rs, 2)) {
      for (const spanField of all(fields(scopeSpans.bytes!), 2)) {
        const s = fields(spanField.bytes!);
        const status = fields(one(s, 15)?.bytes ?? new Uint8Array());
        spans.push({
          service,
          traceId: hex(one(s, 1)?.bytes),
          spanId: hex(one(s, 2)?.bytes),
          parentSpanId: hex(one(s, 4)?.bytes),
          name: text(one(s, 5)?.bytes),
          kind: Number(one(s, 6)?.int ?? 0n),
          attributes: protoAttributes(all(s, 9)),
          links: all(s, 13).map((link) => {
            const l = fields(link.bytes!);
            return { traceId: hex(one(l, 1)?.bytes), spanId: hex(one(l, 2)?.bytes) };
          }),
          status: { code: Number(one(status, 3)?.int ?? 0n), message: text(one(status, 2)?.bytes) },
        });
      }
    }
  }
  return spans;
}

// ---- OTLP/JSON ----

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

function jsonValue(value: JsonAnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(jsonValue);
  return null;
}

const jsonAttributes = (kvs: JsonKeyValue[] | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

/** Decodes an `ExportTraceServiceRequest` in OTLP/JSON (ids as hex strings). */
export function decodeJsonTraces(body: string): ReceivedSpan[] {
  const request = JSON.parse(body) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          attributes?: JsonKeyValue[];
          links?: { traceId: string; spanId: string }[];
          status?: { code?: number; message?: string };
        }[];
      }[];
    }[];
  };
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const service = String(jsonAttributes(rs.resource?.attributes)['service.name'] ?? '');
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        service,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        kind: span.kind ?? 0,
        attributes: jsonAttributes(span.attributes),
        links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
      })),
    );
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    contentTypes.push(type);
    try {
      if (type === 'application/json') {
        spans.push(...decodeJsonTraces(body.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        spans.push(...decodeProtobufTraces(body));
        // An empty ExportTraceServiceResponse: full success.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
    } catch (error) {
      res.writeHead(400).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
