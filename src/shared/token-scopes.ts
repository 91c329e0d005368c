/**
 * The scopes of a cache's API tokens (src/catalog/api-tokens.ts; which route needs which:
 * src/control/token-scopes.ts). Declared once: the API's schemas, the catalog and the
 * guards read this list.
 */
export const TOKEN_SCOPES = ['flush', 'stats', 'read', 'credentials', 'all'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export function isTokenScope(text: string): text is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(text);
}
