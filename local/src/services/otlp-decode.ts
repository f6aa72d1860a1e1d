import { BinaryReader, type WireType } from '@protobuf-ts/runtime';

/**
 * OTLP trace export requests, decoded from either wire form the CloudWatch OTLP endpoints accept
 * (binary protobuf and JSON: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLPEndpoint.html)
 * into one flat shape. Field numbers are those of opentelemetry-proto (trace/v1/trace.proto,
 * common/v1/common.proto, collector/trace/v1/trace_service.proto); the JSON mapping is OTLP/JSON's
 * (hex ids, lowerCamelCase keys, 64-bit integers as strings).
 */

export type AttributeValue = string | number | boolean | AttributeValue[] | { [key: string]: AttributeValue };

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, AttributeValue>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, AttributeValue> }[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  resource: Record<string, AttributeValue>;
  scope: { name: string; version?: string };
}

// ---- protobuf ----

type Fields = (field: number, wire: WireType, r: BinaryReader) => boolean;

/** Read every field of one message, skipping those `read` does not handle (returns false for). */
function fields(bytes: Uint8Array, read: Fields) {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (!read(field, wire, r)) r.skip(wire);
  }
}
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function anyValue(bytes: Uint8Array): AttributeValue {
  let value: AttributeValue = '';
  fields(bytes, (field, _w, r) => {
    if (field === 1) value = r.string();
    else if (field === 2) value = r.bool();
    else if (field === 3) value = Number(r.int64().toString());
    else if (field === 4) value = r.double();
    else if (field === 5) {
      const values: AttributeValue[] = [];
      fields(r.bytes(), (f, _w2, r2) => f === 1 && (values.push(anyValue(r2.bytes())), true));
      value = values;
    } else if (field === 6) {
      const map: Record<string, AttributeValue> = {};
      fields(r.bytes(), (f, _w2, r2) => f === 1 && (keyValue(r2.bytes(), map), true));
      value = map;
    } else if (field === 7) value = Buffer.from(r.bytes()).toString('base64');
    else return false;
    return true;
  });
  return value;
}

function keyValue(bytes: Uint8Array, into: Record<string, AttributeValue>) {
  let key = '';
  let value: AttributeValue = '';
  fields(bytes, (field, _w, r) => {
    if (field === 1) key = r.string();
    else if (field === 2) value = anyValue(r.bytes());
    else return false;
    return true;
  });
  into[key] = value;
}

function protoSpan(bytes: Uint8Array, resource: OtlpSpan['resource'], scope: OtlpSpan['scope']): OtlpSpan {
  const span: OtlpSpan = {
    traceId: '',
    spanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: '0',
    endTimeUnixNano: '0',
    attributes: {},
    events: [],
    status: { code: 0 },
    resource,
    scope,
  };
  fields(bytes, (field, _w, r) => {
    if (field === 1) span.traceId = hex(r.bytes());
    else if (field === 2) span.spanId = hex(r.bytes());
    else if (field === 4) {
      const parent = hex(r.bytes());
      if (parent) span.parentSpanId = parent;
    } else if (field === 5) span.name = r.string();
    else if (field === 6) span.kind = r.int32();
    else if (field === 7) span.startTimeUnixNano = r.fixed64().toString();
    else if (field === 8) span.endTimeUnixNano = r.fixed64().toString();
    else if (field === 9) keyValue(r.bytes(), span.attributes);
    else if (field === 11) {
      const event: OtlpSpan['events'][number] = { name: '', timeUnixNano: '0', attributes: {} };
      fields(r.bytes(), (f, _w2, r2) => {
        if (f === 1) event.timeUnixNano = r2.fixed64().toString();
        else if (f === 2) event.name = r2.string();
        else if (f === 3) keyValue(r2.bytes(), event.attributes);
        else return false;
        return true;
      });
      span.events.push(event);
    } else if (field === 15) {
      fields(r.bytes(), (f, _w2, r2) => {
        if (f === 2) span.status.message = r2.string();
        else if (f === 3) span.status.code = r2.int32();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return span;
}

/** ExportTraceServiceRequest (binary protobuf) → spans. Throws on malformed input. */
export function decodeProtobuf(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  fields(body, (field, _w, r) => {
    if (field !== 1) return false;
    // Fields may come in any order: collect the resource and the raw ScopeSpans, then decode.
    const resource: OtlpSpan['resource'] = {};
    const scopeSpans: Uint8Array[] = [];
    fields(r.bytes(), (f, _w2, r2) => {
      if (f === 1) fields(r2.bytes(), (f2, _w3, r3) => f2 === 1 && (keyValue(r3.bytes(), resource), true));
      else if (f === 2) scopeSpans.push(r2.bytes());
      else return false;
      return true;
    });
    for (const ss of scopeSpans) {
      const scope: OtlpSpan['scope'] = { name: '' };
      const raw: Uint8Array[] = [];
      fields(ss, (f, _w2, r2) => {
        if (f === 1) {
          fields(r2.bytes(), (f2, _w3, r3) => {
            if (f2 === 1) scope.name = r3.string();
            else if (f2 === 2) scope.version = r3.string();
            else return false;
            return true;
          });
        } else if (f === 2) raw.push(r2.bytes());
        else return false;
        return true;
      });
      spans.push(...raw.map((b) => protoSpan(b, resource, scope)));
    }
    return true;
  });
  return spans;
}

// ---- JSON ----

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
  kvlistValue?: { values?: JsonKeyValue[] };
  bytesValue?: string;
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

function jsonValue(v: JsonAnyValue | undefined): AttributeValue {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(jsonValue);
  if (v.kvlistValue) return jsonAttributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return '';
}
const jsonAttributes = (kvs: JsonKeyValue[] | undefined) =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

/** ExportTraceServiceRequest in OTLP/JSON → spans. Throws on malformed input. */
export function decodeJson(text: string): OtlpSpan[] {
  const request = JSON.parse(text) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: {
        scope?: { name?: string; version?: string };
        spans?: {
          traceId?: string;
          spanId?: string;
          parentSpanId?: string;
          name?: string;
          kind?: number;
          startTimeUnixNano?: string | number;
          endTimeUnixNano?: string | number;
          attributes?: JsonKeyValue[];
          events?: { name?: string; timeUnixNano?: string | number; attributes?: JsonKeyValue[] }[];
          status?: { code?: number; message?: string };
        }[];
      }[];
    }[];
  };
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const resource = jsonAttributes(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) => {
      const scope = { name: ss.scope?.name ?? '', ...(ss.scope?.version && { version: ss.scope.version }) };
      return (ss.spans ?? []).map((s): OtlpSpan => ({
        traceId: (s.traceId ?? '').toLowerCase(),
        spanId: (s.spanId ?? '').toLowerCase(),
        ...(s.parentSpanId && { parentSpanId: s.parentSpanId.toLowerCase() }),
        name: s.name ?? '',
        kind: s.kind ?? 0,
        startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
        endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
        attributes: jsonAttributes(s.attributes),
        events: (s.events ?? []).map((e) => ({
          name: e.name ?? '',
          timeUnixNano: String(e.timeUnixNano ?? '0'),
          attributes: jsonAttributes(e.attributes),
        })),
        status: { code: s.status?.code ?? 0, ...(s.status?.message && { message: s.status.message }) },
        resource,
        scope,
      }));
    });
  });
}
