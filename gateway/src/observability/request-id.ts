/**
 * Every request carries an id: the caller's `X-Request-Id` when it is a plausible id (so a trace
 * can cross the gateway), otherwise a fresh UUID. It is logged, sent to the backend and returned
 * to the client. The shape check keeps log lines and headers free of arbitrary client text.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const PLAUSIBLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && PLAUSIBLE_ID.test(given) ? given : randomUUID();
}
