/** The alert trigger and delivery types, named once for the catalog, the API schemas and the control plane. */
export const TRIGGER_TYPES = ['hit_rate', 'memory_usage'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const DELIVERY_TYPES = ['email', 'slack', 'webhook'] as const;
export type DeliveryType = (typeof DELIVERY_TYPES)[number];
