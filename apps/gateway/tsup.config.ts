import { defineConfig } from 'tsup';
import { appBundle } from '../../tsup.app';

export default defineConfig(appBundle({ main: 'src/main.ts' }));
