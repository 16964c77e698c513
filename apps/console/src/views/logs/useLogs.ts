import type { AccessKey, Group, RequestLog } from '@keyway/contracts';
import { computed, onBeforeUnmount, onMounted, reactive, ref, watch } from 'vue';
import { useRoute } from 'vue-router';
import { api } from '../../api';
import type { LogFilter } from '../../api/logs';
import { saveDownload } from '../../utils/download';
import { storage } from '../../utils/storage';
import { readColumns } from './log-columns';
import type { LogColumn } from './log-columns';

const COLUMNS_KEY = 'keyway.logs.columns';
const AUTO_REFRESH_MS = 10_000;

/** The filter form (strings for inputs, a date pair for the range picker). */
export interface LogFilterForm {
  groupId: number | undefined;
  result: '' | 'success' | 'error';
  statusCode: string;
  model: string;
  keyId: string;
  accessKeyId: number | undefined;
  search: string;
  range: [Date, Date] | null;
}

export function emptyFilter(): LogFilterForm {
  return {
    groupId: undefined,
    result: '',
    statusCode: '',
    model: '',
    keyId: '',
    accessKeyId: undefined,
    search: '',
    range: null,
  };
}

/** The form as API query parameters (blank fields left out). */
export function toQuery(f: LogFilterForm): LogFilter {
  const num = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined);
  return {
    groupId: f.groupId,
    result: f.result || undefined,
    statusCode: num(f.statusCode),
    model: f.model.trim() || undefined,
    keyId: num(f.keyId),
    accessKeyId: f.accessKeyId,
    search: f.search.trim() || undefined,
    from: f.range?.[0].toISOString(),
    to: f.range?.[1].toISOString(),
  };
}

/** The logs page: filters (seeded from `?groupId=&keyId=&accessKeyId=`), paging, columns, auto refresh, detail, export. */
export function useLogs() {
  const route = useRoute();
  const filter = reactive<LogFilterForm>(emptyFilter());
  const applied = ref<LogFilter>({});
  const items = ref<RequestLog[]>([]);
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(50);
  const loading = ref(false);
  const exporting = ref(false);
  const groups = ref<Group[]>([]);
  const accessKeys = ref<AccessKey[]>([]);
  const columns = ref<LogColumn[]>(readColumns(storage.get(COLUMNS_KEY)));
  const autoRefresh = ref(false);
  const detail = ref<RequestLog | null>(null);
  let timer: ReturnType<typeof setInterval> | null = null;

  const visible = computed(() => new Set<string>(columns.value));

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const res = await api.logs.list(applied.value, page.value, pageSize.value);
      items.value = res.items;
      total.value = res.total;
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  function apply(): void {
    applied.value = toQuery(filter);
    if (page.value === 1) void load();
    else page.value = 1;
  }

  function reset(): void {
    Object.assign(filter, emptyFilter());
    apply();
  }

  async function exportCsv(): Promise<void> {
    exporting.value = true;
    try {
      saveDownload(await api.logs.export(applied.value), 'request-logs.csv');
    } catch {
      // Toasted.
    } finally {
      exporting.value = false;
    }
  }

  watch(page, () => void load());
  watch(pageSize, () => (page.value === 1 ? void load() : (page.value = 1)));
  watch(columns, (c) => storage.set(COLUMNS_KEY, JSON.stringify(c)));
  watch(autoRefresh, (on) => {
    if (timer) clearInterval(timer);
    timer = on
      ? setInterval(() => {
          if (document.visibilityState === 'visible' && !loading.value) void load();
        }, AUTO_REFRESH_MS)
      : null;
  });

  onMounted(() => {
    const q = route.query;
    if (typeof q.groupId === 'string' && /^\d+$/.test(q.groupId)) filter.groupId = Number(q.groupId);
    if (typeof q.keyId === 'string') filter.keyId = q.keyId;
    if (typeof q.accessKeyId === 'string' && /^\d+$/.test(q.accessKeyId))
      filter.accessKeyId = Number(q.accessKeyId);
    apply();
    void api.groups.list().then(
      (g) => (groups.value = g),
      () => undefined,
    );
    void api.accessKeys.list().then(
      (k) => (accessKeys.value = k),
      () => undefined,
    );
  });
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
  });

  return {
    filter,
    items,
    total,
    page,
    pageSize,
    loading,
    exporting,
    groups,
    accessKeys,
    columns,
    visible,
    autoRefresh,
    detail,
    load,
    apply,
    reset,
    exportCsv,
  };
}
