import { alertRepositoryContract } from '../testing/alert-contract';

alertRepositoryContract('sqlite');
