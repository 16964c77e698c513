import type { AlertChannelType } from '@keyway/contracts';
import type { AlertFormatter } from '../types';
import { dingtalkFormatter } from './dingtalk';
import { feishuFormatter } from './feishu';
import { slackFormatter } from './slack';
import { telegramFormatter } from './telegram';
import { webhookFormatter } from './webhook';
import { wecomFormatter } from './wecom';

/** One formatter per channel type; a type added to the contract without one does not compile. */
export const alertFormatters = {
  webhook: webhookFormatter,
  slack: slackFormatter,
  feishu: feishuFormatter,
  dingtalk: dingtalkFormatter,
  wecom: wecomFormatter,
  telegram: telegramFormatter,
} as const satisfies Record<AlertChannelType, AlertFormatter>;

export { dingtalkSign } from './dingtalk';
export { feishuSign } from './feishu';
export { keywaySignature } from './webhook';
