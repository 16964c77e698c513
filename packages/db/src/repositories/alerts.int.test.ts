import { alertRepositoryContract } from '../testing/alert-contract';
import { serviceAvailable } from '../testing/services';

// serviceAvailable warns loudly and skips outside CI, registers a failing test when CI is set.
if (await serviceAvailable('postgresql')) alertRepositoryContract('postgresql');
if (await serviceAvailable('mysql')) alertRepositoryContract('mysql');
