import { accessKeyContract } from '../testing/access-key-contract';

accessKeyContract('sqlite');
