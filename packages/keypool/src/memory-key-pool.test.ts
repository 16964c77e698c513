import { keyPoolContract } from './contract';
import { MemoryKeyPool } from './memory-key-pool';

keyPoolContract('memory', () => Promise.resolve(new MemoryKeyPool()));
