export { MemoryBus, MemoryHub, type MemoryBusOptions } from './memory-bus';
export { NatsBus, type NatsBusOptions } from './nats-bus';
export type { Bus, BusStats, BusStatus, Handler, Unsubscribe } from './port';
export {
  ALL_SUBJECTS,
  DEFAULT_PREFIX,
  PAYLOAD_SCHEMAS,
  PROCESS_ORIGIN,
  SUBJECTS,
  assertPrefix,
  configChangedSchema,
  keyStateSchema,
  keysChangedSchema,
  subjectName,
  type Payload,
  type Subject,
} from './subjects';
