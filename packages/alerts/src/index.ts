// Public API of @keyway/alerts: platform formatters, delivery, de-duplicating dispatch, the producers' sink and
// the pure rules deciding which key changes and budget crossings raise alerts. No database here: the worker
// gives the dispatcher a store built on @keyway/db's repositories.
export type { AlertData, AlertFormatter, AlertSink, AlertTarget, OutgoingRequest } from './types';
export { noAlerts } from './types';
export { alertFormatters, dingtalkSign, feishuSign, keywaySignature } from './platforms';
export { ALERT_TITLES, alertPlainText, alertTitle } from './text';
export {
  alertChannelSecrets,
  deliverAlert,
  maskAlertUrl,
  type DeliveryOptions,
  type DeliveryResult,
} from './deliver';
export {
  createAlertDispatcher,
  type AlertDispatcherDeps,
  type AlertRecord,
  type AlertStore,
  type DispatchSummary,
} from './dispatch';
export { createAlertEmitter, type AlertEmitterOptions } from './emitter';
export {
  BUDGET_WARNING_RATIO,
  budgetCrossings,
  type BudgetCrossing,
  type BudgetDelta,
  type BudgetUsage,
} from './budget';
export { keyChangeEvent, type KeyChangeLike } from './key-change';
