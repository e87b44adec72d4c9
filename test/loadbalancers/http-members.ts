// Small HTTP servers on 127.0.0.1 ephemeral ports that play load balancer members in tests.
import { createServer, get } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpMember {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Requests this member has answered. */
  hits: number;
  /** Milliseconds each response is held back (a slow request keeps an HAProxy session open). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startMember(name: string, delayMs = 0, host = '127.0.0.1'): Promise<HttpMember> {
  const server: Server = createServer((req, res) => {
    member.hits++;
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? member.delayMs);
    setTimeout(() => res.end(name), delay);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const member: HttpMember = {
    name,
    address: host,
    port,
    hits: 0,
    delayMs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return member;
}

/** One GET on a fresh connection (no keep-alive): status and body. */
function getOnNewConnection(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * Sends requests through `url` with `concurrency` workers until `stop()`; counts answers per body
 * and failures. `newConnectionEach` opens one connection per request: an nginx reload closes idle
 * keep-alive connections, a race that clients settle by retrying and that is not the drain's doing.
 */
export function loadLoop(url: string, concurrency: number, options: { newConnectionEach?: boolean; retryResetOnce?: boolean } = {}) {
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let requests = 0;
  let retried = 0;
  const once = () => (options.newConnectionEach ? getOnNewConnection(url) : fetch(url).then(async (r) => ({ status: r.status, body: await r.text() })));
  // An nginx worker shutting down on reload may close a connection it accepted before reading the
  // request; HTTP clients retry an idempotent request on such a reset, and so may this loop.
  const send = () =>
    once().catch((err: NodeJS.ErrnoException) => {
      if (!options.retryResetOnce || (err.code !== 'ECONNRESET' && !/socket hang up/.test(err.message))) throw err;
      retried++;
      return once();
    });
  let running = true;
  const worker = async () => {
    while (running) {
      requests++;
      try {
        const { status, body } = await send();
        if (status < 200 || status > 299) failures.push(`HTTP ${status}: ${body.slice(0, 80)}`);
        else bodies.set(body, (bodies.get(body) ?? 0) + 1);
      } catch (err) {
        failures.push(String((err as Error).cause ?? err));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    bodies,
    failures,
    get requests() {
      return requests;
    },
    get retried() {
      return retried;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
