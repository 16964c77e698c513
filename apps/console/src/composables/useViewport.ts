import { onBeforeUnmount, onMounted, ref } from 'vue';

/** Below this width the side menu becomes a drawer and forms stack their labels. */
export const NARROW_MAX_PX = 768;

/** Whether the window is phone-sized, updated on resize. */
export function useViewport() {
  const narrow = ref(window.innerWidth <= NARROW_MAX_PX);
  const update = () => (narrow.value = window.innerWidth <= NARROW_MAX_PX);
  onMounted(() => window.addEventListener('resize', update, { passive: true }));
  onBeforeUnmount(() => window.removeEventListener('resize', update));
  return { narrow };
}
