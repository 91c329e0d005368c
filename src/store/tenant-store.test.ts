import { createArenaStore } from './arena/arena-engine.ts';
import { createMapStore } from './testing/map-engine.ts';
import { runStoreContract } from './testing/store-contract.ts';
import { runWalkContract } from './testing/walk-contract.ts';

runStoreContract('TenantStore over the arena engine', createArenaStore);
runStoreContract('TenantStore over the Map engine', createMapStore);
runWalkContract('TenantStore over the arena engine', createArenaStore);
runWalkContract('TenantStore over the Map engine', createMapStore);
