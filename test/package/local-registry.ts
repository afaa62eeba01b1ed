import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/`: give it to npm as `npm_config_registry`. */
  url: string;
  /** What npm fetched through it (`GET /nestjs-zero-trust`…): evidence the package came from the tarball under test. */
  requests: string[];
  close(): Promise<void>;
}

/** package.json inside an npm tarball (ustar: 512-byte headers, the name in the first 100 bytes). */
function manifestOf(tarball: Buffer): Record<string, unknown> {
  const tar = gunzipSync(tarball);
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const name = tar.subarray(offset, offset + 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(tar.subarray(offset + 124, offset + 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (name === 'package/package.json') return JSON.parse(tar.subarray(offset + 512, offset + 512 + size).toString('utf8'));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('no package/package.json in the tarball');
}

/**
 * A private registry as a company runs one: it serves this package from the tarball under test and
 * passes every other request to the registry npm is configured with. With it, the README's commands
 * run exactly as written (`nest add nestjs-zero-trust`, `npx -p nestjs-zero-trust …`) against the
 * build under test instead of a published version.
 */
export async function startLocalRegistry(tarballPath: string): Promise<LocalRegistry> {
  const upstream = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/?$/, '/');
  const tarball = readFileSync(tarballPath);
  const manifest = manifestOf(tarball);
  const name = String(manifest.name);
  const version = String(manifest.version);
  const requests: string[] = [];
  let base = '';
  const packument = () => ({
    name,
    'dist-tags': { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        dist: {
          tarball: `${base}${name}/-/${name}-${version}.tgz`,
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          shasum: createHash('sha1').update(tarball).digest('hex'),
        },
      },
    },
  });
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]);
    if (path === `/${name}` || path.startsWith(`/${name}/`)) {
      requests.push(`${request.method} ${path}`);
      // no-store: each build is a new tarball under the same version; npm must not keep the old integrity.
      if (path === `/${name}`) {
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify(packument()));
      } else {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
        response.end(tarball);
      }
      return;
    }
    fetch(`${upstream}${(request.url ?? '/').replace(/^\//, '')}`, { headers: { accept: String(request.headers.accept ?? '*/*') } })
      .then(async (answer) => {
        const body = Buffer.from(await answer.arrayBuffer());
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
        response.end(body);
      })
      .catch((error: Error) => {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(error.message);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url: base, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
