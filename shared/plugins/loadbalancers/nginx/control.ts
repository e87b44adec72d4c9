/**
 * The few nginx operations the load balancer needs, behind one interface with two implementations:
 * a container on the target's host (production: files through the archive API, commands through
 * exec — the target's container access, ScaleTarget.containers), and a local nginx process with its
 * own prefix and config (tests, single-host setups).
 */
import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerAccess } from '../../types.ts';

export interface NginxControl {
  /** What errors name, e.g. `nginx container "nginx-1" on docker endpoint "edge-1"`. */
  readonly label: string;
  /** The file's content, or undefined when it does not exist. */
  read(file: string): Promise<string | undefined>;
  write(file: string, content: string): Promise<void>;
  remove(file: string): Promise<void>;
  /** `nginx -t`: ok and nginx's own output (its error message when not ok). */
  test(): Promise<{ ok: boolean; output: string }>;
  /** `nginx -s reload`: graceful, old workers finish their requests. */
  reload(): Promise<void>;
}

const run = promisify(execFile);

// ---------------------------------------------------------------- local process

export interface LocalNginxOptions {
  /** `-p`: the prefix (logs, pid file, relative paths). */
  readonly prefix: string;
  /** `-c`: the main configuration file. */
  readonly conf: string;
  readonly binary?: string;
}

export function localNginxControl(options: LocalNginxOptions): NginxControl {
  const binary = options.binary ?? 'nginx';
  const args = ['-p', options.prefix, '-c', options.conf];
  const outputOf = (err: unknown) => {
    const e = err as { stderr?: string; stdout?: string; message?: string };
    return `${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || (e.message ?? String(err));
  };
  return {
    label: `nginx (${options.conf})`,
    async read(file) {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async write(file, content) {
      // Write then rename: nginx never reads a half-written file.
      const temp = `${file}.autoscaler-tmp`;
      await writeFile(temp, content, { mode: 0o644 });
      await rename(temp, file);
    },
    async remove(file) {
      await rm(file, { force: true });
    },
    async test() {
      try {
        const { stdout, stderr } = await run(binary, [...args, '-t'], { timeout: 15_000 });
        return { ok: true, output: `${stderr}${stdout}`.trim() };
      } catch (err) {
        return { ok: false, output: outputOf(err) };
      }
    },
    async reload() {
      try {
        await run(binary, [...args, '-s', 'reload'], { timeout: 15_000 });
      } catch (err) {
        throw new Error(`nginx -s reload failed: ${outputOf(err)}`);
      }
    },
  };
}

// ---------------------------------------------------------------- container on a Docker endpoint

/** A one-file ustar archive (what the Engine's PUT /containers/{id}/archive takes). */
export function tarOneFile(name: string, content: string, mode = 0o644): Buffer {
  const body = Buffer.from(content, 'utf8');
  const header = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 100) throw new Error(`file name "${name}" is longer than 100 bytes`);
  header.write(name, 0, 100, 'utf8');
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(body.length, 12), 124);
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136);
  header.write('        ', 148); // checksum is computed with this field as spaces
  header.write('0', 156);
  header.write('ustar\u000000', 257, 'binary');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
}

/** The content of the first regular file in a tar archive (GET /containers/{id}/archive of one file). */
export function firstFileOfTar(archive: Buffer): string | undefined {
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const start = offset + 512;
    if (type === '0' || type === '\0') return archive.subarray(start, start + size).toString('utf8');
    offset = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

export function containerNginxControl(access: ContainerAccess, container: string): NginxControl {
  const label = `nginx container "${container}"`;
  const wrap = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Error(`${label} on ${access.label}: ${operation} failed: ${(err as Error).message ?? String(err)}`, { cause: err });
    }
  };
  const exec = (args: string[]) => wrap(`exec ${args.join(' ')}`, () => access.exec(container, args));
  return {
    label,
    async read(file) {
      return wrap(`read ${file}`, async () => {
        const archive = await access.getArchive(container, file);
        return archive === undefined ? undefined : firstFileOfTar(archive);
      });
    },
    async write(file, content) {
      await wrap(`write ${file}`, () => access.putArchive(container, dirname(file), tarOneFile(basename(file), content)));
    },
    async remove(file) {
      const { exitCode, output } = await exec(['rm', '-f', file]);
      if (exitCode !== 0) throw new Error(`${label}: rm -f ${file} failed: ${output}`);
    },
    async test() {
      const { exitCode, output } = await exec(['nginx', '-t']);
      return { ok: exitCode === 0, output };
    },
    async reload() {
      const { exitCode, output } = await exec(['nginx', '-s', 'reload']);
      if (exitCode !== 0) throw new Error(`${label}: nginx -s reload failed: ${output}`);
    },
  };
}
