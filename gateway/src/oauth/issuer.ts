/**
 * Each Api is its own authorization server: its issuer is `{publicUrl}{basePath}` and, unless
 * the Api names another identifier, its tokens' audience is that same URL. Every module that
 * mints, verifies or describes tokens derives both from here, so they can never disagree.
 */

import type { SnapshotApi } from '../snapshot/schema.ts';

/** `{publicUrl}{basePath}`; a trailing `/` on `publicUrl` is ignored (basePath starts with `/`). */
export function apiIssuer(api: SnapshotApi, publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${api.basePath}`;
}

/** The `aud` of this Api's tokens: `api.audience` when set, the issuer URL otherwise. */
export function apiAudience(api: SnapshotApi, publicUrl: string): string {
  return api.audience ?? apiIssuer(api, publicUrl);
}

/** `{publicUrl}/.well-known/jwks`: one key set for the whole environment. */
export function jwksUri(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/.well-known/jwks`;
}
