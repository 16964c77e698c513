import { repositoryContract } from '../testing/repository-contract';

repositoryContract('sqlite');
