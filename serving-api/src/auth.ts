/**
 * API keys: `API_KEYS` holds `key:role` pairs (read or admin). A client sends its key as
 * `Authorization: Bearer KEY` or `X-API-Key: KEY`. Without any key configured, reads are open
 * and every write is refused with a 403 that says how to configure one.
 *
 * Keys are compared in constant time (SHA-256 of both sides, `timingSafeEqual`, every configured
 * key tried without an early exit) and never logged: a request carries only the key's id, the
 * first 8 hex digits of its hash, which is also what the rate limit counts by.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey, ApiRole } from '@lambdamart/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

export type RequiredRole = 'public' | ApiRole;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: public (health, docs), read or admin. Default read. */
    role?: RequiredRole;
  }
  interface FastifyRequest {
    /** The caller's role once authenticated; null for an anonymous caller. */
    apiRole: ApiRole | null;
    /** A short, non-secret id of the key used (for logs and the rate limit), or null. */
    apiKeyId: string | null;
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export interface KeyRing {
  readonly configured: boolean;
  /** The role of a presented key, or null when it matches none. */
  roleOf(presented: string): ApiRole | null;
}

export function keyRing(keys: readonly ApiKey[]): KeyRing {
  const hashed = keys.map((k) => ({ digest: sha256(k.key), role: k.role }));
  return {
    configured: hashed.length > 0,
    roleOf(presented) {
      const digest = sha256(presented);
      let role: ApiRole | null = null;
      for (const key of hashed) {
        // No early exit: the time taken does not say which key (or whether any) matched.
        if (timingSafeEqual(digest, key.digest) && role !== 'admin') role = key.role;
      }
      return role;
    },
  };
}

/** The key a request presents, from `Authorization: Bearer` or `X-API-Key`. */
export function presentedKey(request: Pick<FastifyRequest, 'headers'>): string | null {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  return null;
}

export const keyId = (key: string) => sha256(key).toString('hex').slice(0, 8);

/** Sets `request.apiRole`; throws the 401/403 the route's role calls for. */
export function authenticate(ring: KeyRing, request: FastifyRequest, required: RequiredRole): void {
  const key = presentedKey(request);
  request.apiKeyId = key ? keyId(key) : null;
  request.apiRole = key && ring.configured ? ring.roleOf(key) : null;
  if (required === 'public') return;
  if (!ring.configured) {
    if (required === 'read') return;
    throw new ApiError(
      403,
      'LM_ERR_API_WRITES_DISABLED',
      'writes are disabled: no API keys are configured. Set API_KEYS=<key>:admin (a key of 16+ characters) and send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
    );
  }
  if (key === null) {
    throw new ApiError(
      401,
      'LM_ERR_API_UNAUTHORIZED',
      'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      undefined,
      {
        'www-authenticate': 'Bearer',
      },
    );
  }
  if (request.apiRole === null) {
    throw new ApiError(401, 'LM_ERR_API_UNAUTHORIZED', 'the API key is not one of API_KEYS', undefined, { 'www-authenticate': 'Bearer' });
  }
  if (required === 'admin' && request.apiRole !== 'admin') {
    throw new ApiError(403, 'LM_ERR_API_FORBIDDEN', 'this needs an admin key; the key sent has the read role');
  }
}
