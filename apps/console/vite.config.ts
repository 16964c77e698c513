import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import { defineConfig } from 'vite';

// `pnpm dev` talks to a running standalone/control-plane; the built app is served from the same origin.
const apiTarget = 'http://127.0.0.1:3001';

export default defineConfig({
  base: '/',
  plugins: [
    vue(),
    // Element Plus on demand: each component (and its CSS) is imported where a template uses it. The generated
    // type list (for vue-tsc) lives under a `generated` folder, which prettier and ESLint skip.
    Components({ resolvers: [ElementPlusResolver()], dirs: [], dts: 'types/generated/components.d.ts' }),
  ],
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  // ECharts is the one big dependency; it lives in the dashboard's lazy chunk. The real budget is
  // scripts/bundle-size.mjs (1.5 MB gzip for all JS), run after every build.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
      '/proxy': { target: apiTarget, changeOrigin: false },
    },
  },
});
