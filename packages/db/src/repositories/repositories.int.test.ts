import { repositoryContract } from '../testing/repository-contract';
import { serviceAvailable } from '../testing/services';

// serviceAvailable warns loudly and skips outside CI, registers a failing test when CI is set.
if (await serviceAvailable('postgresql')) repositoryContract('postgresql');
if (await serviceAvailable('mysql')) repositoryContract('mysql');
