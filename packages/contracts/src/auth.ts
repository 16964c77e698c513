import { z } from 'zod';

/** `POST /api/auth/login` body. */
export const loginBodySchema = z.strictObject({ authKey: z.string().max(1024) });
export type LoginBody = z.infer<typeof loginBodySchema>;

/** One admin session in `GET /api/auth/sessions`; `id` is opaque (never the cookie's token). */
export const authSessionSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  clientIp: z.string(),
  userAgent: z.string(),
  /** The session the request was made with. */
  current: z.boolean(),
});
export type AuthSession = z.infer<typeof authSessionSchema>;

/** `GET /api/auth/sessions`: newest first. */
export const authSessionListSchema = z.object({ items: z.array(authSessionSchema) });
export type AuthSessionList = z.infer<typeof authSessionListSchema>;
