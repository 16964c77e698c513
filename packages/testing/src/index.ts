export {
  startFakeUpstream,
  type FakeBehaviour,
  type FakeProvider,
  type FakeUpstream,
  type FakeUpstreamOptions,
  type FakeUpstreamSettings,
  type RecordedRequest,
} from './fake-upstream';
export {
  freePort,
  startProcess,
  stopAllProcesses,
  type ManagedProcess,
  type StartProcessOptions,
} from './process';
export { fuzzRun, rssMiB, type FuzzRun } from './fuzz';
export { isServiceReachable, randomPrefix, redactUrl, requireService, serviceAddress } from './services';
export { startBystander, type Bystander } from './bystander';
export {
  startHttpProxy,
  startProxyPool,
  startSocks5Proxy,
  type ProxySeen,
  type TestProxy,
  type TestProxyPool,
} from './egress-proxies';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
export { startScriptDefaults } from './start-script';
