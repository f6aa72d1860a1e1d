import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';
import type { Logger } from './logger';
import type { TraceExport } from './tracing';

const bytes = (data: SourceData) =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** SHA-256 (and HMAC) for the signer, on node:crypto. */
export class Sha256 implements Checksum {
  private hash;
  private readonly secret?: string | Uint8Array;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
  update(data: SourceData) {
    this.hash.update(bytes(data));
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset() {
    this.hash = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

export interface OtlpTraceExporterOptions {
  target: TraceExport;
  log: Logger;
  timeoutMs?: number;
  credentials?: AwsCredentialIdentityProvider;
}

/**
 * OTLP/HTTP protobuf span exporter that signs with SigV4 for the X-Ray OTLP endpoint
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLPEndpoint.html), as
 * ADOT's OTLPAwsSpanExporter does, without reaching into the upstream exporter's internals. A failed
 * export is dropped (the batch processor never retries it) and logged once until exports work again:
 * a down collector costs neither memory nor log volume.
 */
export class OtlpTraceExporter implements SpanExporter {
  private readonly signer?: SignatureV4;
  private failing = false;
  private dropped = 0;
  /** Spans handed to `export` whose request has not settled yet. */
  pendingSpans = 0;
  /** Spans whose export failed, since the start. */
  failedSpans = 0;

  constructor(private readonly options: OtlpTraceExporterOptions) {
    const sign = options.target.sign;
    if (sign) {
      this.signer = new SignatureV4({
        credentials: options.credentials ?? defaultProvider(),
        region: sign.region,
        service: sign.service,
        sha256: Sha256,
      });
    }
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.pendingSpans += spans.length;
    this.send(spans).then(
      () => {
        this.pendingSpans -= spans.length;
        if (this.failing) {
          this.options.log.info({ droppedSpans: this.dropped }, 'trace export works again');
          this.failing = false;
          this.dropped = 0;
        }
        done({ code: ExportResultCode.SUCCESS });
      },
      (e: Error) => {
        this.pendingSpans -= spans.length;
        this.failedSpans += spans.length;
        this.dropped += spans.length;
        if (!this.failing) {
          this.failing = true;
          this.options.log.warn(
            { err: e, endpoint: this.options.target.url },
            'trace export failed; dropping spans (logged once until it works again)',
          );
        }
        done({ code: ExportResultCode.FAILED, error: e });
      },
    );
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}

  private async send(spans: ReadableSpan[]) {
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (!body) throw new Error('the spans could not be serialised');
    const url = new URL(this.options.target.url);
    let headers: Record<string, string> = { 'content-type': 'application/x-protobuf' };
    if (this.signer) {
      const signed = await this.signer.sign({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: {},
        headers: { ...headers, host: url.host },
        body,
      });
      headers = signed.headers;
    }
    // fetch sets Host itself; a copied one would be refused.
    delete headers.host;
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (!res.ok) {
      const text = (await res.text()).slice(0, 300);
      throw new Error(`${url.origin}${url.pathname} answered ${res.status}: ${text}`);
    }
    await res.arrayBuffer();
  }
}
