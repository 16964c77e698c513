import { defineStore } from 'pinia';
import { ref } from 'vue';
import { api } from '../api';
import { ApiError } from '../api/http';

export type AuthState = 'unknown' | 'in' | 'out';

/** Whether this browser holds a valid session cookie (the cookie itself is HttpOnly). */
export const useAuthStore = defineStore('auth', () => {
  const state = ref<AuthState>('unknown');
  const expiresAt = ref<string | null>(null);

  /** Asks the API once; network failures count as logged out so the login page can show the error. */
  async function check(): Promise<boolean> {
    try {
      const s = await api.auth.session();
      state.value = 'in';
      expiresAt.value = s.expiresAt;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      state.value = 'out';
      expiresAt.value = null;
    }
    return state.value === 'in';
  }

  /** Rejects with ApiError (401 wrong key, 429 rate limited). */
  async function login(authKey: string): Promise<void> {
    await api.auth.login(authKey);
    await check();
  }

  async function logout(): Promise<void> {
    try {
      await api.auth.logout();
    } finally {
      expire();
    }
  }

  /** The API said 401: the session is gone. */
  function expire(): void {
    state.value = 'out';
    expiresAt.value = null;
  }

  return { state, expiresAt, check, login, logout, expire };
});
