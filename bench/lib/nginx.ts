/**
 * nginx as a reverse proxy: the proxy a user would pick instead of a gateway. Debian's package,
 * run in the foreground (`daemon off`) with a config generated here, on a free port:
 * `proxy_pass` to an upstream block with keep-alive connections (HTTP/1.1, `Connection: ""`),
 * one worker process (the gateway is one single-threaded process: per-core figures compare),
 * its access log on (as it ships) written to /dev/null, like the gateway's request log.
 */

import { spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Child, freePort, startChild, waitForHttp } from './child.ts';

export function nginxBinary(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    const result = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (!result.error) return candidate;
  }
  return undefined;
}

export interface NginxProcess {
  child: Child;
  origin: string;
  stop(): Promise<void>;
}

export async function startNginx(options: {
  binary: string;
  dir: string;
  upstreamOrigin: string;
}): Promise<NginxProcess> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  // Its workers drop root privileges (user nobody): they must reach the temp paths.
  await chmod(dir, 0o755);
  const port = await freePort();
  const upstream = new URL(options.upstreamOrigin).host;
  const config = `worker_processes 1;
error_log ${join(dir, 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 4096; }
http {
  access_log /dev/null;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 1000000;
  upstream backend {
    server ${upstream};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  await writeFile(file, config);
  const child = startChild(options.binary, ['-p', dir, '-c', file, '-g', 'daemon off;']);
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/`, child, 15_000);
  return {
    child,
    origin,
    // SIGQUIT: graceful shutdown of the master and its worker.
    stop: () => child.stop('SIGQUIT', 5_000),
  };
}
