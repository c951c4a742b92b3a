/**
 * What a backend behind Apiway learns about the caller: the gateway removes the consumer's
 * credential and names the consumer in `X-Apiway-*` headers instead (clients cannot forge them:
 * the gateway drops any copy a client sends).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Caller {
  /** Absent on a public operation, or an optional-auth one called anonymously. */
  clientId?: string;
  subscription?: string;
  scopes?: string[];
  /** Always false behind the gateway: it never forwards the token or API key it checked. */
  credentialReceived: boolean;
}

export function callerOf(req: IncomingMessage): Caller {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const caller: Caller = {
    credentialReceived:
      /^bearer /i.test(header('authorization') ?? '') || header('x-api-key') !== undefined,
  };
  const clientId = header('x-apiway-client-id');
  if (clientId !== undefined) caller.clientId = clientId;
  const subscription = header('x-apiway-subscription');
  if (subscription !== undefined) caller.subscription = subscription;
  const scopes = header('x-apiway-scopes');
  if (scopes !== undefined) caller.scopes = scopes === '' ? [] : scopes.split(' ');
  return caller;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads a small JSON body (the demo accepts up to 64 KiB); undefined when absent or not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) return undefined;
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
