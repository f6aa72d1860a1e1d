import { createHash } from 'node:crypto';
import { AwsError, xmlEscape } from '../core/respond';
import type { Router, TwinRequest, TwinResponse } from '../core/router';
import type { TwinContext } from '../twin';
import { toXml } from './aws-query';

interface S3Object {
  /** base64, so the state store stays JSON. */
  body: string;
  etag: string;
  lastModified: string;
  contentType?: string;
}
interface Bucket {
  name: string;
  created: string;
  objects: Record<string, S3Object>;
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
const BUCKET_NAME = /^(?!xn--|sthree-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The S3 the CDK toolkit needs (restXml, path-style: the SDK addresses loopback endpoints path-style):
 * the bootstrap staging bucket's objects (templates and file assets). Buckets are created by
 * CloudFormation's AWS::S3::Bucket provider through `createBucket`.
 */
export function registerS3(router: Router, ctx: TwinContext) {
  const state = ctx.state.get('s3', () => ({ buckets: {} as Record<string, Bucket> }));

  const bucket = (name: string) => {
    const b = state.buckets[name];
    if (!b)
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });
    return b;
  };
  const object = (b: Bucket, key: string) => {
    const o = b.objects[key];
    if (!o) throw new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    return o;
  };

  const handle =
    (fn: (req: TwinRequest, res: TwinResponse) => void) => (req: TwinRequest, res: TwinResponse) => {
      if (req.service !== 's3')
        throw new AwsError(
          'UnknownOperationException',
          `The local twin does not implement ${req.method} ${req.path}${req.service ? ` for service ${req.service}` : ''}`,
          404,
        );
      try {
        fn(req, res);
      } catch (e) {
        if (!(e instanceof S3Error)) throw e;
        const body =
          req.method === 'HEAD'
            ? ''
            : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${toXml(e.extra)}</Error>`;
        res.writeHead(e.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      }
    };
  const xml = (res: TwinResponse, root: string, value: unknown) => {
    const text = `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${NS}">${toXml(value)}</${root}>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const empty = (res: TwinResponse, status = 200, headers: Record<string, string | number> = {}) => {
    res.writeHead(status, { 'content-length': 0, ...headers });
    res.end();
  };

  const bucketGet = handle((req, res) => {
    const b = bucket(req.params.bucket);
    if (req.query.has('location'))
      // us-east-1 answers an empty LocationConstraint.
      return xml(res, 'LocationConstraint', ctx.region === 'us-east-1' ? '' : ctx.region);
    if (req.query.has('encryption'))
      return xml(res, 'ServerSideEncryptionConfiguration', {
        Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
      });
    if (req.query.get('list-type') !== '2')
      throw new S3Error(
        'NotImplemented',
        'The local twin lists objects with ListObjectsV2 (list-type=2) only',
        501,
      );
    const prefix = req.query.get('prefix') ?? '';
    const max = Number(req.query.get('max-keys') ?? 1000);
    const after = req.query.get('continuation-token') ?? req.query.get('start-after') ?? '';
    const keys = Object.keys(b.objects)
      .filter((k) => k.startsWith(prefix) && k > after)
      .sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const text =
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="${NS}">` +
      toXml({ Name: b.name, Prefix: prefix, KeyCount: page.length, MaxKeys: max, IsTruncated: truncated }) +
      page
        .map((k) => {
          const o = b.objects[k];
          const size = Buffer.from(o.body, 'base64').length;
          return `<Contents>${toXml({ Key: k, LastModified: o.lastModified, ETag: o.etag, Size: size, StorageClass: 'STANDARD' })}</Contents>`;
        })
        .join('') +
      (truncated ? toXml({ NextContinuationToken: page.at(-1) }) : '') +
      `</ListBucketResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });

  const objectHeaders = (o: S3Object, size: number) => ({
    etag: o.etag,
    'last-modified': new Date(o.lastModified).toUTCString(),
    'content-type': o.contentType ?? 'application/octet-stream',
    'content-length': size,
  });

  router.route(
    'HEAD',
    '/{bucket}',
    handle((req, res) => (bucket(req.params.bucket), empty(res))),
  );
  router.route('GET', '/{bucket}', bucketGet);
  router.route('GET', '/{bucket}/', bucketGet);
  router.route(
    'PUT',
    '/{bucket}/{key+}',
    handle((req, res) => {
      const b = bucket(req.params.bucket);
      const body = decodeAwsChunked(req);
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      b.objects[req.params.key] = {
        body: body.toString('base64'),
        etag,
        lastModified: new Date().toISOString(),
        contentType: req.headers['content-type'],
      };
      empty(res, 200, { etag });
    }),
  );
  router.route(
    'HEAD',
    '/{bucket}/{key+}',
    handle((req, res) => {
      const o = object(bucket(req.params.bucket), req.params.key);
      res.writeHead(200, objectHeaders(o, Buffer.from(o.body, 'base64').length));
      res.end();
    }),
  );
  router.route(
    'GET',
    '/{bucket}/{key+}',
    handle((req, res) => {
      const o = object(bucket(req.params.bucket), req.params.key);
      const body = Buffer.from(o.body, 'base64');
      res.writeHead(200, objectHeaders(o, body.length));
      res.end(body);
    }),
  );
  router.route(
    'DELETE',
    '/{bucket}/{key+}',
    handle((req, res) => {
      delete bucket(req.params.bucket).objects[req.params.key];
      empty(res, 204);
    }),
  );

  return {
    /** CloudFormation's AWS::S3::Bucket provider: create (BucketAlreadyOwnedByYou if it exists). */
    createBucket(name: string) {
      if (!BUCKET_NAME.test(name) || name.includes('..'))
        throw new Error(
          `Bucket name '${name}' is invalid: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`,
        );
      if (state.buckets[name]) throw new Error(`${name} already exists`);
      state.buckets[name] = { name, created: new Date().toISOString(), objects: {} };
    },
    /** Deleting a bucket that still has objects fails, as S3's DeleteBucket does (BucketNotEmpty). */
    deleteBucket(name: string) {
      const b = state.buckets[name];
      if (!b) return;
      if (Object.keys(b.objects).length)
        throw new Error(
          `The bucket you tried to delete is not empty (${name}); empty it or set DeletionPolicy: Retain`,
        );
      delete state.buckets[name];
    },
    hasBucket: (name: string) => !!state.buckets[name],
    /** An object's bytes (CloudFormation reads TemplateURL through this). */
    getObject(bucketName: string, key: string): Buffer {
      return Buffer.from(object(bucket(bucketName), key).body, 'base64');
    },
  };
}

export type S3Api = ReturnType<typeof registerS3>;

/** An error as S3 sends it: XML `<Error>` with Code and Message (no body for HEAD). */
export function sendS3Error(
  res: TwinResponse,
  err: { code: string; message: string; status: number },
  head = false,
) {
  const body = head
    ? ''
    : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error>`;
  res.writeHead(err.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The SDK streams bodies with a trailing checksum as `aws-chunked`: `<hex size>[;chunk-signature=..]\r\n
 * <data>\r\n ... 0\r\n<trailers>\r\n\r\n`. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
function decodeAwsChunked(req: TwinRequest): Buffer {
  const encoding = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return req.body;
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = req.body.indexOf('\r\n', at);
    if (eol < 0) throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its last chunk');
    const size = parseInt(req.body.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new S3Error('InvalidRequest', 'Malformed aws-chunked chunk header');
    if (size === 0) break;
    parts.push(req.body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
