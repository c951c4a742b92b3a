/**
 * The demo Recommendations API backend (the backend of examples/recommendations-api.yaml).
 */

import { createServer, type Server } from 'node:http';
import { callerOf, sendJson } from './consumer.ts';

const RECOMMENDATIONS = [
  { designId: 'd-1', text: 'Add a night-time variant of the lighthouse.' },
  { designId: 'd-2', text: 'Try a warmer palette for the bridge.' },
];

export function createRecommendationsBackend(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const calledBy = callerOf(req);
    if (req.method === 'GET' && url.pathname === '/health') {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (req.method === 'GET' && url.pathname === '/recommendations') {
      const designId = url.searchParams.get('designId');
      const recommendations = designId
        ? RECOMMENDATIONS.filter((r) => r.designId === designId)
        : RECOMMENDATIONS;
      return sendJson(res, 200, { recommendations, calledBy });
    }
    return sendJson(res, 404, { error: 'not_found' });
  });
}
