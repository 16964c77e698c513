/// <reference types="vite/client" />

// Lets plain TypeScript tooling (typed ESLint) import single-file components; vue-tsc reads the real types.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}
