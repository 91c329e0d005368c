/** Catalog records in v2's shapes (src/api/v2.ts): the one place v2's field names are mapped. */
import type { CredentialRecord } from '../../../catalog/catalog.ts';
import type { V2CapabilitiesView, V2CredentialView } from '../../../api/v2.ts';

export function v2CapabilitiesView(c: CredentialRecord): V2CapabilitiesView {
  return { write_capability: c.write, flush_capability: c.flush, api_capability: c.api };
}

export function v2CredentialView(c: CredentialRecord): V2CredentialView {
  return { id: c.id, cache_id: c.cacheId, sasl_username: c.username, ...v2CapabilitiesView(c), primary: c.primary };
}
