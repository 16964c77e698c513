import type { DashboardSummary, Group, TimeseriesBucket, Warning } from '@keyway/contracts';
import { onBeforeUnmount, onMounted, ref, watch } from 'vue';
import { api } from '../../api';
import { useUsage } from './useUsage';

const REFRESH_MS = 60_000;

/**
 * The dashboard's data: 24 h summary with the 24 h before, the hourly series (per group), warnings, and usage
 * per group / model / access key.
 */
export function useDashboard() {
  const summary = ref<DashboardSummary | null>(null);
  const buckets = ref<TimeseriesBucket[]>([]);
  const warnings = ref<Warning[]>([]);
  const groups = ref<Group[]>([]);
  const groupId = ref<number | undefined>(undefined);
  const loading = ref(false);
  const chartLoading = ref(false);
  const usage = useUsage('24h');
  let timer: ReturnType<typeof setInterval> | null = null;

  async function loadSeries(): Promise<void> {
    chartLoading.value = true;
    try {
      buckets.value = (await api.dashboard.timeseries('24h', groupId.value)).buckets;
    } catch {
      // Toasted by the API hooks; keep the last chart.
    } finally {
      chartLoading.value = false;
    }
  }

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const [s, w, g] = await Promise.all([
        api.dashboard.summary('24h'),
        api.dashboard.warnings(),
        api.groups.list(),
        loadSeries(),
        usage.load(),
      ]);
      summary.value = s;
      warnings.value = w;
      groups.value = g;
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  watch(groupId, () => void loadSeries());

  onMounted(() => {
    void load();
    timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, REFRESH_MS);
  });
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
  });

  return { summary, buckets, warnings, groups, groupId, loading, chartLoading, usage, load };
}
