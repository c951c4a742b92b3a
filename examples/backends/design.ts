/**
 * The demo Design API backend (the backend of examples/design-api.yaml): designs in memory,
 * and every answer says who called (`calledBy`), from the headers the gateway adds.
 */

import { createServer, type Server } from 'node:http';
import { callerOf, readJson, sendJson } from './consumer.ts';

interface Design {
  id: string;
  name: string;
  published: boolean;
}

export function createDesignBackend(): Server {
  const designs = new Map<string, Design>([
    ['d-1', { id: 'd-1', name: 'Lighthouse', published: true }],
    ['d-2', { id: 'd-2', name: 'Harbour bridge', published: false }],
  ]);
  let nextId = 3;

  return createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const calledBy = callerOf(req);
    const segments = url.pathname.split('/').filter(Boolean);
    const [first, id, action] = segments;

    if (req.method === 'GET' && url.pathname === '/health') {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (req.method === 'GET' && url.pathname === '/catalog') {
      const published = [...designs.values()].filter((d) => d.published);
      return sendJson(res, 200, { catalog: published, calledBy });
    }
    if (first !== 'designs') return sendJson(res, 404, { error: 'not_found' });

    if (segments.length === 1 && req.method === 'GET') {
      return sendJson(res, 200, { designs: [...designs.values()], calledBy });
    }
    if (segments.length === 1 && req.method === 'POST') {
      const body = (await readJson(req)) as { name?: unknown } | undefined;
      const name = typeof body?.name === 'string' ? body.name : 'Untitled';
      const design = { id: `d-${nextId++}`, name, published: false };
      designs.set(design.id, design);
      return sendJson(res, 201, { design, calledBy });
    }
    const design = id === undefined ? undefined : designs.get(id);
    if (!design) return sendJson(res, 404, { error: 'not_found', designId: id });
    if (segments.length === 2 && req.method === 'GET') {
      return sendJson(res, 200, { design, calledBy });
    }
    if (action === 'preview' && req.method === 'GET') {
      const greeting = calledBy.clientId ? `Preview for ${calledBy.clientId}` : 'Anonymous preview';
      return sendJson(res, 200, { preview: `${greeting}: ${design.name}`, calledBy });
    }
    if (action === 'publish' && req.method === 'POST') {
      design.published = true;
      return sendJson(res, 200, { design, calledBy });
    }
    return sendJson(res, 404, { error: 'not_found' });
  });
}
