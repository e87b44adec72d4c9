/**
 * A small client for the HAProxy runtime API (the "stats socket"), over TCP `host:port` or a unix
 * socket. One command per connection: HAProxy answers a non-interactive command and closes, so
 * there is no session state to get wrong and a failed command cannot poison the next one.
 */
import { createConnection } from 'node:net';
import type { NetConnectOpts } from 'node:net';
import type { HaproxyEndpoint } from '../config/endpoints.ts';

/** Where a runtime API listens, and the label errors carry (never more than host:port / path). */
export interface RuntimeTarget {
  readonly label: string;
  readonly connect: { readonly path: string } | { readonly host: string; readonly port: number };
}

export class HaproxyRuntimeError extends Error {
  readonly endpoint: string;
  readonly command: string;
  constructor(endpoint: string, command: string, message: string) {
    super(`haproxy ${endpoint}: "${command}" failed: ${message}`);
    this.name = 'HaproxyRuntimeError';
    this.endpoint = endpoint;
    this.command = command;
  }
}

export function runtimeTarget(name: string, endpoint: HaproxyEndpoint): RuntimeTarget {
  if ('socket' in endpoint) return { label: `"${name}" (${endpoint.socket})`, connect: { path: endpoint.socket } };
  const colon = endpoint.address.lastIndexOf(':');
  const host = endpoint.address.slice(0, colon);
  const port = Number(endpoint.address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`haproxy endpoint "${name}": address "${endpoint.address}" has no valid port (1-65535)`);
  }
  return { label: `"${name}" (${endpoint.address})`, connect: { host, port } };
}

/** Characters that would let a value smuggle a second command or argument into a runtime API line. */
const unsafe = /[\s;#\\]/;

/** Rejects argument values that are not single runtime-API words. */
export function assertWord(what: string, value: string): string {
  if (value.length === 0 || unsafe.test(value)) {
    throw new Error(`${what} "${value}" is not allowed in an HAProxy runtime command (no spaces, ';', '#' or '\\')`);
  }
  return value;
}

/** Sends one command and resolves with HAProxy's whole answer. */
export function runCommand(target: RuntimeTarget, command: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  if (command.includes('\n')) return Promise.reject(new Error('one command per call: no newlines'));
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const socket = createConnection(target.connect as NetConnectOpts);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(new HaproxyRuntimeError(target.label, command, err.message));
      else resolve(text ?? '');
    };
    const onAbort = () => finish(new Error('aborted'));
    if (options.signal?.aborted) return finish(new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(undefined, Buffer.concat(chunks).toString('utf8')));
  });
}

/** The trimmed answer of a command whose success is an empty answer or one of `okAnswers`; anything else throws. */
export async function runExpecting(target: RuntimeTarget, command: string, okAnswers: readonly string[], signal?: AbortSignal): Promise<string> {
  const answer = (await runCommand(target, command, { signal })).trim();
  if (answer === '' || okAnswers.includes(answer)) return answer;
  throw new HaproxyRuntimeError(target.label, command, answer);
}

// ---------------------------------------------------------------- show stat

export type StatRow = Readonly<Record<string, string>>;

/** Parses `show stat` CSV: a `# pxname,svname,…` header, then one row per frontend/backend/server. */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift();
  if (!header?.startsWith('# ')) throw new Error(`not a "show stat" answer: ${JSON.stringify(csv.slice(0, 120))}`);
  const columns = header.slice(2).split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row: Record<string, string> = {};
    columns.forEach((column, i) => {
      if (column !== '') row[column] = cells[i] ?? '';
    });
    return row;
  });
}

export async function showStat(target: RuntimeTarget, signal?: AbortSignal): Promise<StatRow[]> {
  const answer = await runCommand(target, 'show stat', { signal });
  try {
    return parseShowStat(answer);
  } catch (err) {
    throw new HaproxyRuntimeError(target.label, 'show stat', (err as Error).message);
  }
}

// ---------------------------------------------------------------- show servers state

export interface ServerState {
  readonly backend: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** 0 stopped, 1 starting, 2 running, 3 soft-stopping (HAProxy's srv_op_state). */
  readonly opState: number;
  /** Bit field: 0x01 forced maintenance, 0x08 forced drain, … (HAProxy's srv_admin_state). */
  readonly adminState: number;
}

/** Parses `show servers state [backend]`: a version line, a `# be_id be_name …` header, rows. */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const headerIndex = lines.findIndex((line) => line.startsWith('# '));
  if (headerIndex < 0) throw new Error(`not a "show servers state" answer: ${JSON.stringify(text.slice(0, 120))}`);
  const columns = lines[headerIndex]!.slice(2).split(' ');
  const col = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`"show servers state" has no column ${name}`);
    return i;
  };
  const [be, name, addr, port, op, admin] = ['be_name', 'srv_name', 'srv_addr', 'srv_port', 'srv_op_state', 'srv_admin_state'].map(col) as [number, number, number, number, number, number];
  return lines.slice(headerIndex + 1).map((line) => {
    const cells = line.split(' ');
    return {
      backend: cells[be]!,
      name: cells[name]!,
      address: cells[addr]!,
      port: Number(cells[port]),
      opState: Number(cells[op]),
      adminState: Number(cells[admin]),
    };
  });
}

export async function showServersState(target: RuntimeTarget, backend: string, signal?: AbortSignal): Promise<ServerState[]> {
  const command = `show servers state ${assertWord('backend', backend)}`;
  const answer = await runCommand(target, command, { signal });
  if (/^Can't find backend/m.test(answer)) throw new HaproxyRuntimeError(target.label, command, answer.trim());
  try {
    return parseServersState(answer);
  } catch (err) {
    throw new HaproxyRuntimeError(target.label, command, (err as Error).message);
  }
}
