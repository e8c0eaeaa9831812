import { createHash, timingSafeEqual } from 'node:crypto';

/** Operators may read and act; readers (ADMIN_READONLY_TOKENS) may only read. */
export type Role = 'operator' | 'reader';

/** Who made an authenticated request: a label for the audit log (never the token) and what it may do. */
export interface Principal {
  actor: string;
  role: Role;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'none_configured';

interface KnownToken {
  digest: Buffer;
  principal: Principal;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

// RFC 6750 b64token, and nothing after it.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Checks `Authorization: Bearer <token>` against the configured tokens in constant time: the presented token is
 * hashed (so lengths do not matter) and compared with every configured digest, without stopping at a match.
 * Tokens are labelled by list and position (`operator#1`, `reader#2`) for the audit log.
 */
export class TokenVerifier {
  private readonly known: KnownToken[];

  constructor(operatorTokens: readonly string[], readerTokens: readonly string[]) {
    this.known = [
      ...operatorTokens.map((token, i) => ({
        digest: digest(token),
        principal: { actor: `operator#${i + 1}`, role: 'operator' as const },
      })),
      ...readerTokens.map((token, i) => ({
        digest: digest(token),
        principal: { actor: `reader#${i + 1}`, role: 'reader' as const },
      })),
    ];
  }

  get configured(): boolean {
    return this.known.length > 0;
  }

  verify(authorization: string | undefined): Principal | AuthFailure {
    if (!this.configured) return 'none_configured';
    if (authorization === undefined || authorization.trim() === '') return 'missing';
    const match = BEARER.exec(authorization);
    if (!match) return 'malformed';
    const presented = digest(match[1]!);
    let found: Principal | null = null;
    for (const known of this.known) {
      if (timingSafeEqual(presented, known.digest) && found === null) found = known.principal;
    }
    return found ?? 'unknown';
  }
}
