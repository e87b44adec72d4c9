/**
 * The Docker target's container access (ScaleTarget.containers): labels, exec and the archive API of
 * containers on the target's endpoint, for load balancers that live there (nginx in a container)
 * or read what their members declare (Traefik's labels). Errors carry the Engine's own message
 * ("No such container: …") and its status code; the caller names the container and the operation.
 */
import { PassThrough } from 'node:stream';
import { endpointNamed } from '../../../config/endpoints.ts';
import type { ContainerAccess, PluginContext } from '../../types.ts';
import { dockerHost, hostLabel } from './client.ts';

/** The Engine's message when it sent one (clearer than dockerode's wrapper), with the status code kept. */
function engineError(err: unknown): Error {
  const e = err as { json?: { message?: string }; message?: string; statusCode?: number };
  return Object.assign(new Error(e.json?.message ?? e.message ?? String(err), { cause: err }), { statusCode: e.statusCode });
}

async function engine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw engineError(err);
  }
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export function dockerContainerAccess(endpoint: string, ctx: PluginContext): ContainerAccess {
  const host = () => dockerHost(endpoint, ctx);
  let label: string;
  try {
    label = hostLabel(endpoint, endpointNamed(ctx.endpoints, 'docker', endpoint));
  } catch {
    label = `docker endpoint "${endpoint}"`; // unknown endpoint: the first call reports it
  }
  return {
    label,
    async labels(container) {
      const h = await host();
      const info = await engine(() => h.docker.getContainer(container).inspect({ abortSignal: ctx.signal }));
      return { ...((info.Config?.Labels ?? {}) as Record<string, string>) };
    },
    async exec(container, command) {
      const h = await host();
      return engine(async () => {
        const e = await h.docker.getContainer(container).exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true, abortSignal: ctx.signal });
        const stream = await e.start({ hijack: true, stdin: false });
        const out = new PassThrough();
        const done = streamToBuffer(out);
        h.docker.modem.demuxStream(stream, out, out);
        await new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        });
        out.end();
        const { ExitCode } = await e.inspect();
        return { exitCode: ExitCode ?? -1, output: (await done).toString('utf8').trim() };
      });
    },
    async getArchive(container, path) {
      const h = await host();
      try {
        return await streamToBuffer(await h.docker.getContainer(container).getArchive({ path }));
      } catch (err) {
        // 404: no such path (or container; the write that follows then names it).
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw engineError(err);
      }
    },
    async putArchive(container, directory, archive) {
      const h = await host();
      await engine(() => h.docker.getContainer(container).putArchive(archive, { path: directory }));
    },
  };
}
