// The admin API's response envelopes, declared once in `@keyway/contracts`.
export {
  sessionSchema,
  type Session,
  groupListSchema,
  settingsResponseSchema,
  type SettingsResponse,
  settingsValuesSchema,
  taskSchema,
  type Task,
  taskListSchema,
  taskRefSchema,
  type TaskRef,
  keyTestResultSchema,
  type KeyTestResult,
  deletedSchema,
  restoredSchema,
  validateResultSchema,
} from '@keyway/contracts';
