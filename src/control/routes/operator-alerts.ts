/**
 * The operator's view of alerts: `GET /api/operator/alerts/events`, the last 100 firings,
 * resolutions and delivery results of every cache, newest first, each with its cache id.
 */
import { OperatorAlertEventList } from '../../api/v2-alerts.ts';
import { operatorGuard } from '../auth.ts';
import type { Routes } from '../app.ts';
import { ALERT_EVENTS_LISTED, eventView } from './v2/alerts.ts';

export const operatorAlertRoutes: Routes = (app, { catalog }) => {
  app.get(
    '/api/operator/alerts/events',
    { onRequest: operatorGuard(catalog), schema: { response: { 200: OperatorAlertEventList } } },
    async (): Promise<OperatorAlertEventList> =>
      (await catalog.alertEvents(undefined, ALERT_EVENTS_LISTED)).map((e) => ({ ...eventView(e), cache_id: e.cacheId })),
  );
};
