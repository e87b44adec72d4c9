/**
 * A local fake Kubernetes API server: HTTPS with a self-signed certificate made by openssl at test
 * time, answering the apps/v1 scale subresource of Deployments and StatefulSets as the real API does
 * (autoscaling/v1 Scale objects, resourceVersion checks → 409 Conflict, 404 NotFound, 403 Forbidden
 * and 401 Unauthorized Status bodies).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeObject {
  replicas: number;
  resourceVersion: number;
}

export interface FakeKubernetes {
  readonly url: string;
  /** Base64 of the server's certificate (its own CA). */
  readonly caData: string;
  readonly token: string;
  /** `${namespace}/${plural}/${name}` → object. */
  readonly objects: Map<string, FakeObject>;
  /** Namespaces in which the token may not touch scale subresources. */
  readonly forbiddenNamespaces: Set<string>;
  /** Namespaces whose requests are read and never answered (an API server that hangs). */
  readonly silentNamespaces: Set<string>;
  /** Requests seen: `METHOD path`. */
  readonly requests: string[];
  /** PUTs that will meet a concurrent writer first (the object changes just before the write). */
  concurrentWrites: number;
  /** What a concurrent writer sets replicas to (a user's kubectl scale, a deploy); unset: only resourceVersion moves. */
  concurrentReplicas: number | undefined;
  /** Writes a kubeconfig for this server and returns its path. */
  kubeconfig(context?: string): string;
  close(): Promise<void>;
}

function status(code: number, reason: string, message: string, details: Record<string, string>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

/** `accept` decides which bearer tokens are valid besides `token` (e.g. any EKS token). */
export async function startFakeKubernetes(token = 'test-token', accept: (bearer: string) => boolean = () => false): Promise<FakeKubernetes> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-k8s-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const objects = new Map<string, FakeObject>();
  const forbiddenNamespaces = new Set<string>();
  const silentNamespaces = new Set<string>();
  const requests: string[] = [];
  const fake: { concurrentWrites: number; concurrentReplicas: number | undefined } = { concurrentWrites: 0, concurrentReplicas: undefined };

  const server: Server = createServer({ cert, key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      requests.push(`${req.method} ${path}`);
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (bearer !== token && !accept(bearer)) return send(401, status(401, 'Unauthorized', 'Unauthorized', {}));
      const match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)\/scale$/.exec(path);
      if (!match) return send(404, status(404, 'NotFound', 'the server could not find the requested resource', {}));
      const [, namespace, plural, name] = match as unknown as [string, string, string, string];
      if (silentNamespaces.has(namespace)) return;
      const verb = req.method === 'GET' ? 'get' : req.method === 'PUT' ? 'update' : 'patch';
      if (forbiddenNamespaces.has(namespace)) {
        return send(403, status(403, 'Forbidden', `${plural}.apps "${name}" is forbidden: User "autoscaler" cannot ${verb} resource "${plural}/scale" in API group "apps" in the namespace "${namespace}"`, { name, group: 'apps', kind: plural }));
      }
      const key = `${namespace}/${plural}/${name}`;
      const object = objects.get(key);
      if (!object) return send(404, status(404, 'NotFound', `${plural}.apps "${name}" not found`, { name, group: 'apps', kind: plural }));
      const scale = () => ({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: String(object.resourceVersion), creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { replicas: object.replicas },
        status: { replicas: object.replicas, selector: `app=${name}` },
      });
      if (req.method === 'GET') return send(200, scale());
      let body: { metadata?: { resourceVersion?: string }; spec?: { replicas?: number } };
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, status(400, 'BadRequest', 'invalid JSON', {}));
      }
      if (req.method === 'PUT') {
        if (fake.concurrentWrites > 0) {
          fake.concurrentWrites -= 1;
          if (fake.concurrentReplicas !== undefined) object.replicas = fake.concurrentReplicas;
          object.resourceVersion += 1;
        }
        const expected = body.metadata?.resourceVersion;
        if (expected !== undefined && expected !== String(object.resourceVersion)) {
          return send(409, status(409, 'Conflict', `Operation cannot be fulfilled on ${plural}.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: 'apps', kind: plural }));
        }
      } else if (req.method !== 'PATCH') {
        return send(405, status(405, 'MethodNotAllowed', `${req.method} is not allowed`, {}));
      }
      const replicas = body.spec?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) return send(422, status(422, 'Invalid', 'spec.replicas: Invalid value', {}));
      object.replicas = replicas;
      object.resourceVersion += 1;
      return send(200, scale());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const caData = cert.toString('base64');

  return Object.assign(fake, {
    url,
    caData,
    token,
    objects,
    forbiddenNamespaces,
    silentNamespaces,
    requests,
    kubeconfig(context = 'fake') {
      const file = join(dir, `kubeconfig-${context}.yaml`);
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: fake`,
          `  cluster: { server: "${url}", certificate-authority-data: "${caData}" }`,
          'users:',
          `- name: fake-user`,
          `  user: { token: "${token}" }`,
          'contexts:',
          `- name: ${context}`,
          `  context: { cluster: fake, user: fake-user }`,
          `current-context: ${context}`,
        ].join('\n'),
      );
      return file;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
