import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';

export type RequestListener = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface Listening {
  host: string;
  port: number;
  close(): Promise<void>;
}

const H2_PREFACE = 'PRI * HTTP/2.0';

/**
 * One loopback port for HTTP/1.1 and h2c (prior knowledge): the Bedrock Runtime client speaks HTTP/2
 * by default, the others HTTP/1.1. The first bytes of a connection tell which server gets it.
 */
export async function listen(listener: RequestListener, host = '127.0.0.1', port = 0): Promise<Listening> {
  // Idle connections stay open until close(). The SDK's keep-alive agents reuse an idle socket
  // without reading the Keep-Alive hint, and the tests' clients do not retry (maxAttempts 1): with
  // Node's 5 s default, a request sent as the server closed its socket failed with ECONNRESET. AWS
  // documents no idle timeout for its endpoints, and the SDK retries a reset connection there.
  const h1 = http.createServer({ keepAliveTimeout: 0 }, listener);
  const h2 = http2.createServer({}, listener);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, H2_PREFACE.length).toString('latin1') === H2_PREFACE) {
        // http2 reads the native handle, so bytes unshifted in JS would be lost: hand it a JS stream.
        h2.emit('connection', relay(socket, first));
      } else {
        socket.unshift(first);
        h1.emit('connection', socket);
        socket.resume();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;

  return {
    host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        h1.closeAllConnections();
      }),
  };
}

/** A duplex over `socket` that first yields the bytes already read from it. */
function relay(socket: net.Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => socket.resume(),
    write: (chunk, encoding, cb) => socket.write(chunk, encoding, cb),
    final: (cb) => socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy();
      cb(err);
    },
  });
  duplex.push(first);
  socket.on('data', (d) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', (e) => duplex.destroy(e));
  return duplex;
}
