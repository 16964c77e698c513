import { accessKeyContract } from '../testing/access-key-contract';
import { serviceAvailable } from '../testing/services';

// serviceAvailable warns loudly and skips outside CI, registers a failing test when CI is set.
if (await serviceAvailable('postgresql')) accessKeyContract('postgresql');
if (await serviceAvailable('mysql')) accessKeyContract('mysql');
