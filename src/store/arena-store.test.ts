import { ArenaTenantStore } from './arena/arena-store.ts';
import { runStoreContract } from './testing/store-contract.ts';

runStoreContract('ArenaTenantStore', (options) => new ArenaTenantStore(options));
