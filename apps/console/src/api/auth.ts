import type { Http } from './http';
import { sessionSchema } from './schemas';
import type { Session } from './schemas';

/** `/api/auth/*`: a 401 here is an answer, so these calls never trigger the expired-session hook. */
export function createAuthApi(http: Http) {
  return {
    login: (authKey: string): Promise<void> =>
      http.send('POST', '/api/auth/login', { body: { authKey }, auth: false, silent: true }),
    logout: (): Promise<void> => http.send('POST', '/api/auth/logout', { auth: false, silent: true }),
    session: (): Promise<Session> =>
      http.json('GET', '/api/auth/session', sessionSchema, { auth: false, silent: true }),
  };
}
