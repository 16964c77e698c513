import { defineConfig } from 'vitest/config';

// A config of its own stops vitest from picking up the workspace-wide one at the repository root.
export default defineConfig({ test: {} });
