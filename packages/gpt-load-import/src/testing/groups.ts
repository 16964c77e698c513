/**
 * The fixture's settings, groups and sub-groups: stored values as GPT-Load writes them (Go json.Marshal text,
 * the text `null` for a nil JSONMap, SQL NULL in columns added after a group was created) next to what the reader
 * must make of them. Written twice on purpose — stored and expected — so a reader bug cannot hide in shared code.
 */
import type { GptLoadGroup, GptLoadSetting, GptLoadSubGroup } from '../types';

/** A stored cell: Date and boolean are rendered per dialect; strings hold JSON text for JSON columns. */
export type Cell = string | number | boolean | Date | null;
export type Row = Record<string, Cell>;

const at = (iso: string) => new Date(iso);

/** GPT-Load's default `failover_status_codes` (v1.4.7+), equal to the old hard-coded "≥ 400 except 404". */
export const DEFAULT_FAILOVER_STATUS_CODES = '400-403,405-999';

/** Client keys the fixture makes weak on purpose (short, guessable). */
export const WEAK_PROXY_KEYS = ['sk-123', '123456'];
export const GLOBAL_PROXY_KEYS = ['sk-admin-fixture-AUTHKEY-0001', 'sk-global-fixture-team-0002', 'sk-123'];

const SETTINGS: [string, string][] = [
  ['app_url', 'https://gpt-load.example.com'],
  ['proxy_keys', GLOBAL_PROXY_KEYS.join(',')],
  ['request_log_retention_days', '30'],
  ['request_log_write_interval_minutes', '1'],
  ['enable_request_body_logging', 'false'],
  ['request_timeout', '300'],
  ['connect_timeout', '15'],
  ['idle_conn_timeout', '120'],
  ['response_header_timeout', '600'],
  ['max_idle_conns', '1e+06'], // fmt.Sprintf("%v") of a float64 ≥ 1e6, as a settings save leaves it
  ['max_idle_conns_per_host', '50'],
  ['proxy_url', ''],
  ['max_retries', '5'],
  ['blacklist_threshold', '3'],
  ['failover_status_codes', DEFAULT_FAILOVER_STATUS_CODES],
  ['key_validation_interval_minutes', '30'],
  ['key_validation_concurrency', '10'],
  ['key_validation_timeout_seconds', '20'],
];

export function settingRows(): { rows: Row[]; expected: GptLoadSetting[] } {
  const created = at('2025-05-20T01:00:00.115Z');
  const rows = SETTINGS.map(([key, value], i) => ({
    id: i + 1,
    setting_key: key,
    setting_value: value,
    description: `config.${key}_desc`,
    created_at: created,
    updated_at: at('2025-05-20T01:20:00.000Z'),
  }));
  return { rows, expected: SETTINGS.map(([key, value]) => ({ key, value })) };
}

interface GroupDef {
  row: Row;
  expected: GptLoadGroup;
}

const validated = at('2025-06-01T11:16:00.250Z');

function standard(
  id: number,
  name: string,
  channel: string,
  stored: Partial<Row>,
  expected: Partial<GptLoadGroup>,
): GroupDef {
  const created = at(`2025-05-20T01:0${id}:00.000Z`);
  const row: Row = {
    id,
    name,
    display_name: `${name} keys`,
    proxy_keys: '',
    description: '',
    group_type: 'standard',
    upstreams: '[{"url":"https://api.openai.com","weight":1}]',
    validation_endpoint: '',
    channel_type: channel,
    sort: id,
    test_model: 'gpt-4.1-nano',
    param_overrides: '{}',
    config: '{}',
    header_rules: '[]',
    model_redirect_rules: '{}',
    model_redirect_strict: false,
    last_validated_at: validated,
    created_at: created,
    updated_at: validated,
    ...stored,
  };
  const exp: GptLoadGroup = {
    id,
    name,
    displayName: `${name} keys`,
    proxyKeys: null,
    description: null,
    groupType: 'standard',
    upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
    validationEndpoint: null,
    channelType: channel,
    sort: id,
    testModel: 'gpt-4.1-nano',
    paramOverrides: null,
    config: null,
    headerRules: null,
    modelRedirectRules: null,
    modelRedirectStrict: false,
    lastValidatedAt: validated,
    createdAt: created,
    updatedAt: validated,
    ...expected,
  };
  return { row, expected: exp };
}

/** Aggregate groups as the UI creates them: `[]` upstreams, `-` test model, nil JSONMaps stored as `null`. */
function aggregate(id: number, name: string, channel: string, proxyKeys: string): GroupDef {
  const created = at('2025-05-21T03:10:00.000Z');
  return {
    row: {
      id,
      name,
      display_name: `${name} pool`,
      proxy_keys: proxyKeys,
      description: 'weighted pool',
      group_type: 'aggregate',
      upstreams: '[]',
      validation_endpoint: '',
      channel_type: channel,
      sort: 0,
      test_model: '-',
      param_overrides: 'null',
      config: 'null',
      header_rules: '[]',
      model_redirect_rules: '{}',
      model_redirect_strict: false,
      last_validated_at: null,
      created_at: created,
      updated_at: created,
    },
    expected: {
      id,
      name,
      displayName: `${name} pool`,
      proxyKeys: proxyKeys || null,
      description: 'weighted pool',
      groupType: 'aggregate',
      upstreams: [],
      validationEndpoint: null,
      channelType: channel,
      sort: 0,
      testModel: '-',
      paramOverrides: null,
      config: null,
      headerRules: null,
      modelRedirectRules: null,
      modelRedirectStrict: false,
      lastValidatedAt: null,
      createdAt: created,
      updatedAt: created,
    },
  };
}

/** 6 standard groups (names starting with `_` and `-` among them) and 2 aggregates. */
export function groupDefs(): GroupDef[] {
  return [
    standard(
      1,
      'openai',
      'openai',
      {
        proxy_keys: 'sk-openai-client-a,sk-openai-client-b',
        description: 'Primary OpenAI keys',
        param_overrides: '{"temperature":0.7}',
        config: '{"blacklist_threshold":5,"max_retries":2,"request_timeout":120}',
        header_rules:
          '[{"key":"X-Forwarded-By","value":"gpt-load/${GROUP_NAME}","action":"set"},{"key":"Openai-Organization","value":"","action":"remove"}]',
        model_redirect_rules: '{"gpt-4":"gpt-4.1","gpt-4o-mini":"gpt-4.1-mini"}',
      },
      {
        proxyKeys: 'sk-openai-client-a,sk-openai-client-b',
        description: 'Primary OpenAI keys',
        paramOverrides: { temperature: 0.7 },
        config: { blacklist_threshold: 5, max_retries: 2, request_timeout: 120 },
        headerRules: [
          { key: 'X-Forwarded-By', value: 'gpt-load/${GROUP_NAME}', action: 'set' },
          { key: 'Openai-Organization', value: '', action: 'remove' },
        ],
        modelRedirectRules: { 'gpt-4': 'gpt-4.1', 'gpt-4o-mini': 'gpt-4.1-mini' },
      },
    ),
    standard(
      2,
      'anthropic',
      'anthropic',
      {
        proxy_keys: 'sk-claude-client-1',
        upstreams: '[{"url":"https://api.anthropic.com","weight":1}]',
        validation_endpoint: '/v1/messages',
        test_model: 'claude-3-5-haiku-latest',
        param_overrides: '{"max_tokens":4096}',
        config:
          '{"failover_status_codes":"429,500-599","key_validation_interval_minutes":120,"proxy_url":"http://proxy.internal:8080"}',
        header_rules: '[{"key":"Anthropic-Beta","value":"prompt-caching-2024-07-31","action":"set"}]',
        model_redirect_rules: '{"claude-sonnet":"claude-sonnet-4-20250514"}',
        model_redirect_strict: true,
      },
      {
        proxyKeys: 'sk-claude-client-1',
        upstreams: [{ url: 'https://api.anthropic.com', weight: 1 }],
        validationEndpoint: '/v1/messages',
        testModel: 'claude-3-5-haiku-latest',
        paramOverrides: { max_tokens: 4096 },
        config: {
          failover_status_codes: '429,500-599',
          key_validation_interval_minutes: 120,
          proxy_url: 'http://proxy.internal:8080',
        },
        headerRules: [{ key: 'Anthropic-Beta', value: 'prompt-caching-2024-07-31', action: 'set' }],
        modelRedirectRules: { 'claude-sonnet': 'claude-sonnet-4-20250514' },
        modelRedirectStrict: true,
      },
    ),
    standard(
      3,
      'gemini',
      'gemini',
      {
        upstreams:
          '[{"url":"https://generativelanguage.googleapis.com","weight":3},{"url":"https://gemini-relay.example.com","weight":1},{"url":"https://gemini-old.example.com","weight":0}]',
        test_model: 'gemini-2.0-flash',
        config:
          '{"enable_request_body_logging":true,"key_validation_concurrency":5,"key_validation_timeout_seconds":30}',
        model_redirect_rules: '{"gemini-pro":"gemini-2.5-pro"}',
      },
      {
        upstreams: [
          { url: 'https://generativelanguage.googleapis.com', weight: 3 },
          { url: 'https://gemini-relay.example.com', weight: 1 },
          { url: 'https://gemini-old.example.com', weight: 0 },
        ],
        testModel: 'gemini-2.0-flash',
        config: {
          enable_request_body_logging: true,
          key_validation_concurrency: 5,
          key_validation_timeout_seconds: 30,
        },
        modelRedirectRules: { 'gemini-pro': 'gemini-2.5-pro' },
      },
    ),
    // The default failover_status_codes written explicitly into a group's config (Keyway maps it to unset).
    standard(
      4,
      'openai-backup',
      'openai',
      {
        upstreams: '[{"url":"https://openai-relay.example.com/","weight":1}]',
        config: `{"failover_status_codes":"${DEFAULT_FAILOVER_STATUS_CODES}","proxy_url":""}`,
      },
      {
        upstreams: [{ url: 'https://openai-relay.example.com/', weight: 1 }],
        config: { failover_status_codes: DEFAULT_FAILOVER_STATUS_CODES, proxy_url: '' },
      },
    ),
    aggregate(5, 'openai-pool', 'openai', 'sk-pool-client-1, sk-pool-client-2'),
    // A name starting with `_` and a weak group proxy key.
    standard(
      6,
      '_lab',
      'openai-response',
      {
        proxy_keys: WEAK_PROXY_KEYS[1] ?? '',
        test_model: 'gpt-4.1-mini',
        validation_endpoint: '/v1/responses',
      },
      { proxyKeys: WEAK_PROXY_KEYS[1] ?? '', testModel: 'gpt-4.1-mini', validationEndpoint: '/v1/responses' },
    ),
    // A name starting with `-`, created by an old version: later columns are SQL NULL, group_type NULL.
    standard(
      7,
      '-legacy',
      'anthropic',
      {
        display_name: null,
        proxy_keys: null,
        group_type: null,
        upstreams: '[{"url":"https://claude-relay.example.com","weight":1}]',
        validation_endpoint: null,
        test_model: 'claude-3-haiku-20240307',
        param_overrides: null,
        config: null,
        header_rules: null,
        model_redirect_rules: null,
        last_validated_at: null,
      },
      {
        displayName: null,
        upstreams: [{ url: 'https://claude-relay.example.com', weight: 1 }],
        testModel: 'claude-3-haiku-20240307',
        lastValidatedAt: null,
      },
    ),
    aggregate(8, 'claude-pool', 'anthropic', ''),
  ];
}

/** Sub-group rows: openai-pool → openai 70 / openai-backup 30; claude-pool → anthropic 1 / -legacy 0 (not routed). */
export function subGroupRows(): { rows: Row[]; expected: GptLoadSubGroup[] } {
  const links: [number, number, number][] = [
    [5, 1, 70],
    [5, 4, 30],
    [8, 2, 1],
    [8, 7, 0],
  ];
  const created = at('2025-05-21T03:11:00.000Z');
  return {
    rows: links.map(([g, s, w], i) => ({
      id: i + 1,
      group_id: g,
      sub_group_id: s,
      weight: w,
      created_at: created,
      updated_at: created,
    })),
    expected: links.map(([groupId, subGroupId, weight]) => ({ groupId, subGroupId, weight })),
  };
}
