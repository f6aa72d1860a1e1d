import type http from 'node:http';
import type http2 from 'node:http2';

export type TwinResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A request as the service modules see it: body read, path split from the query, SigV4 service known. */
export interface TwinRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Service name from the SigV4 credential scope (`bedrock`, `bedrock-agentcore`, `ecr`, ...), if signed. */
  service?: string;
  /** Access key id from the SigV4 credential scope, if signed. */
  accessKeyId?: string;
  /** Path parameters captured by `{name}` segments, URL-decoded. */
  params: Record<string, string>;
  /** Aborted when the client goes away; streaming handlers stop on it. */
  signal: AbortSignal;
  raw: http.IncomingMessage | http2.Http2ServerRequest;
}

export type Handler = (req: TwinRequest, res: TwinResponse) => unknown;

interface PathRoute {
  key: string;
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/**
 * Dispatch as the real endpoints do: REST protocols by method and path, JSON protocols
 * (`POST /` with `x-amz-target`) by target, query protocols (`POST /` form body) by `Action`.
 */
export class Router {
  private readonly paths: PathRoute[] = [];
  private readonly targets = new Map<string, Handler>();
  private readonly actions = new Map<string, Handler>();

  /** `path` uses `{name}` for one segment and `{name+}` for the rest of the path. */
  route(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const m = /^\{([^}+]+)(\+?)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return m[2] ? '(.+)' : '([^/]+)';
      })
      .join('');
    this.paths.push({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      pattern: new RegExp(`^${source}$`),
      names,
      handler,
    });
    return this;
  }

  /** JSON protocols: `x-amz-target: <prefix>.<operation>`. */
  target(target: string, handler: Handler): this {
    this.targets.set(target, handler);
    return this;
  }

  /** Query protocols: form body with `Action=<action>`. */
  action(action: string, handler: Handler): this {
    this.actions.set(action, handler);
    return this;
  }

  /** The handler, its path parameters, and the operation's key (target, Action, or `METHOD /pattern`). */
  match(
    req: Omit<TwinRequest, 'params'>,
  ): { handler: Handler; params: Record<string, string>; key: string } | undefined {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const handler = this.targets.get(target);
      return handler && { handler, params: {}, key: target };
    }
    const type = String(req.headers['content-type'] ?? '');
    if (req.method === 'POST' && req.path === '/' && type.startsWith('application/x-www-form-urlencoded')) {
      const action = new URLSearchParams(req.body.toString('utf8')).get('Action') ?? '';
      const handler = this.actions.get(action);
      return handler && { handler, params: {}, key: action };
    }
    for (const r of this.paths) {
      if (r.method !== req.method) continue;
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { handler: r.handler, params, key: r.key };
    }
    return undefined;
  }
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, ...` → `{accessKeyId, service}`. */
export function parseSigV4(authorization: string | undefined): { accessKeyId?: string; service?: string } {
  const m = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { accessKeyId: m[1], service: m[2] } : {};
}
