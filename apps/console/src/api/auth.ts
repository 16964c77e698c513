import { authSessionListSchema } from '@keyway/contracts';
import type { AuthSession } from '@keyway/contracts';
import type { Http } from './http';
import { sessionSchema } from './schemas';
import type { Session } from './schemas';

/** `/api/auth/*`: a 401 from login/logout/session is an answer, so those never trigger the expired-session hook. */
export function createAuthApi(http: Http) {
  return {
    login: (authKey: string): Promise<void> =>
      http.send('POST', '/api/auth/login', { body: { authKey }, auth: false, silent: true }),
    /** Revokes the session on the server (a copy of the cookie stops working), then the cookie is cleared. */
    logout: (): Promise<void> => http.send('POST', '/api/auth/logout', { auth: false, silent: true }),
    session: (): Promise<Session> =>
      http.json('GET', '/api/auth/session', sessionSchema, { auth: false, silent: true }),
    /** Every live admin session, newest first; `current` is this browser's. */
    sessions: async (): Promise<AuthSession[]> =>
      (await http.json('GET', '/api/auth/sessions', authSessionListSchema)).items,
    revokeSession: (id: string): Promise<void> =>
      http.send('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`),
    /** Revokes every session but this browser's. */
    revokeOtherSessions: (): Promise<void> => http.send('DELETE', '/api/auth/sessions'),
  };
}
