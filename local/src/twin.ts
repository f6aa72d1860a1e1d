import { TwinClock } from './core/clock';
import { loadAllEnvironments } from '../../environments';
import { currentAccount, inAccount } from './core/accounts';
import { listen } from './core/listen';
import { AwsError, sendAwsJsonError, sendQueryError, sendRestJsonError } from './core/respond';
import { parseSigV4, Router, type TwinRequest, type TwinResponse } from './core/router';
import { StateStore } from './core/state';
import { sendS3Error } from './services/s3';
import { Authorizer, ResourcePolicies } from './iam/authorize';
import { Iam, type Credentials } from './iam/iam';
import { registerIam } from './iam/api';
import { registerServices, type ServiceApis, type ServiceOptions } from './services';

export interface TwinOptions extends ServiceOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Persist state here so a restarted twin keeps its resources; in memory when absent. */
  stateDir?: string;
  region?: string;
  /** The default account: `twin.env()` signs as its admin, in-process APIs act in it. */
  accountId?: string;
  /** More accounts (besides the default and every account of environments/*.yaml). */
  accounts?: string[];
}

/** What service modules get: the shared state, the twin's own URL, and the options. */
export interface TwinContext {
  readonly url: string;
  readonly region: string;
  /** The account the current request acts in (the resource owner's), else the default account. */
  readonly accountId: string;
  readonly defaultAccount: string;
  readonly state: StateStore;
  readonly options: TwinOptions;
  /** The twin's time: the wall clock, which tests can advance (status transitions, version expiry). */
  readonly clock: TwinClock;
  readonly iam: Iam;
  /** Resource-based policies services keep (ECR repository policies), for the authorizer. */
  readonly resourcePolicies: ResourcePolicies;
  /** Environment variables that point the AWS SDK (and our tools) at this twin, as an account's admin. */
  env(options?: { account?: string; credentials?: Credentials }): Record<string, string>;
  /** Called when the twin stops: modules stop their child processes and timers here. */
  onClose(fn: () => Promise<void> | void): void;
}

export interface Twin extends ServiceApis {
  readonly url: string;
  readonly port: number;
  readonly context: TwinContext;
  /** Advance it to reach what happens after minutes or days (`twin.clock.advance(ms)`). */
  readonly clock: TwinClock;
  /** Every account the twin serves; the first is the default. */
  readonly accounts: readonly string[];
  /** Environment variables that point the AWS SDK (and our tools) at this twin, as an account's admin. */
  env(options?: { account?: string; credentials?: Credentials }): Record<string, string>;
  /** The bootstrap admin's access key of an account (an IAM user with AdministratorAccess). */
  credentials(account?: string): Credentials;
  /** Run in-process API calls (twin.ecr..., twin.agentcore...) as if in another account. */
  inAccount<T>(account: string, fn: () => T): T;
  close(): Promise<void>;
}

async function readBody(req: TwinRequest['raw']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Start the local twin of the AWS APIs on loopback. */
export async function startTwin(options: TwinOptions = {}): Promise<Twin> {
  const router = new Router();
  const closers: (() => Promise<void> | void)[] = [];
  const defaultAccount = options.accountId ?? '123456789012';
  const accounts = [
    ...new Set([defaultAccount, ...(options.accounts ?? []), ...loadAllEnvironments().map((e) => e.account)]),
  ];
  const state = new StateStore(options.stateDir, defaultAccount);
  const iam = new Iam(state, accounts);
  let url = '';
  const context: TwinContext = {
    get url() {
      return url;
    },
    region: options.region ?? 'us-east-1',
    get accountId() {
      return currentAccount() ?? defaultAccount;
    },
    defaultAccount,
    state,
    options,
    clock: new TwinClock(),
    iam,
    resourcePolicies: new ResourcePolicies(),
    env: ({ account = defaultAccount, credentials = iam.adminCredentials(account) } = {}) => ({
      AWS_ENDPOINT_URL: url,
      AWS_REGION: context.region,
      AWS_DEFAULT_REGION: context.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken && { AWS_SESSION_TOKEN: credentials.sessionToken }),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }),
    onClose: (fn) => closers.push(fn),
  };
  const authorizer = new Authorizer(context);

  const listening = await listen(
    async (raw, res) => {
      const controller = new AbortController();
      res.once('close', () => {
        // `writableEnded` is set only when we ended the response; after an h2 reset `writableFinished` is already true.
        if (!res.writableEnded) controller.abort();
      });
      const u = new URL(raw.url ?? '/', 'http://twin');
      const headers = raw.headers;
      let req: TwinRequest | undefined;
      try {
        const body = await readBody(raw);
        const sig = parseSigV4(headers.authorization);
        const base = {
          method: (raw.method ?? 'GET').toUpperCase(),
          path: u.pathname,
          query: u.searchParams,
          headers,
          body,
          service: sig.service,
          accessKeyId: sig.accessKeyId,
          signal: controller.signal,
          raw,
        };
        const found = router.match(base);
        req = { ...base, params: found?.params ?? {} };
        if (!found) {
          throw new AwsError(
            'UnknownOperationException',
            `The local twin does not implement ${base.method} ${base.path}` +
              (headers['x-amz-target'] ? ` (x-amz-target ${headers['x-amz-target']})` : '') +
              (sig.service ? ` for service ${sig.service}` : ''),
            404,
          );
        }
        // IAM first, as AWS does: who signed, may they, and in which account does the resource live.
        const account = await authorizer.authorize(req, found.key);
        const handle = found.handler;
        const request = req;
        await inAccount(account, () => handle(request, res));
        if (base.method !== 'GET') state.save();
      } catch (e) {
        respondError(raw.headers, res, e);
      }
    },
    options.host ?? '127.0.0.1',
    options.port ?? 0,
  );
  url = `http://${listening.host}:${listening.port}`;

  registerIam(router, context);
  const apis = registerServices(router, context);

  return {
    ...apis,
    url,
    port: listening.port,
    context,
    clock: context.clock,
    accounts,
    env: context.env,
    credentials: (account = defaultAccount) => iam.adminCredentials(account),
    inAccount,
    close: async () => {
      for (const fn of closers.reverse()) await fn();
      await listening.close();
    },
  };
}

function respondError(headers: TwinRequest['headers'], res: TwinResponse, e: unknown) {
  const err =
    e instanceof AwsError
      ? e
      : new AwsError('InternalServerException', `local twin error: ${(e as Error)?.message ?? e}`, 500);
  if (e && !(e instanceof AwsError)) console.error('[twin]', e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    sendAwsJsonError(
      res,
      err,
      String(headers['content-type'] ?? 'application/x-amz-json-1.1'),
      !!headers['x-amzn-query-mode'],
    );
  } else if (String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    sendQueryError(res, err);
  } else if (parseSigV4(headers.authorization).service === 's3') {
    // S3 (restXml) reads an XML <Error>, also for what IAM refuses before the handler runs.
    sendS3Error(res, err);
  } else {
    sendRestJsonError(res, err);
  }
}
