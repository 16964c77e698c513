import { ElMessage, ElMessageBox, ElNotification } from 'element-plus';
// Services are called from code, not templates, so the on-demand resolver cannot add their styles.
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import 'element-plus/es/components/notification/style/css';
import { ApiError } from '../api/http';
import { i18n } from '../i18n';

const t = (key: string, values?: Record<string, unknown>): string => i18n.global.t(key, values ?? {});

export function toastSuccess(message: string): void {
  void ElMessage({ type: 'success', message, grouping: true });
}

export function toastError(message: string): void {
  void ElMessage({ type: 'error', message, grouping: true, duration: 5000, showClose: true });
}

/** A user-facing sentence for any failure: the API's message, or a translated one for client-side codes. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'NETWORK') return t('errors.network');
    if (error.code === 'BAD_RESPONSE') return t('errors.badResponse');
    if (error.code === 'RATE_LIMITED') return t('errors.rateLimited');
    if (error.code === 'VALIDATION_FAILED') {
      const fields = Object.entries(error.fieldErrors()).map(([p, m]) => (p ? `${p}: ${m}` : m));
      if (fields.length > 0) return `${error.message} — ${fields.join('; ')}`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A lasting notification (finished background tasks). */
export function notify(type: 'success' | 'error' | 'info', title: string, message: string): void {
  ElNotification({ type, title, message, duration: type === 'error' ? 0 : 8000 });
}

/** Asks to confirm; resolves false on cancel. */
export async function confirmAction(message: string, title: string, danger = false): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: danger ? 'warning' : 'info',
      confirmButtonText: t('common.confirm'),
      cancelButtonText: t('common.cancel'),
      confirmButtonClass: danger ? 'el-button--danger' : '',
    });
    return true;
  } catch {
    return false;
  }
}

/** Asks for a line of text; resolves null on cancel. */
export async function promptText(message: string, title: string, value: string): Promise<string | null> {
  try {
    // Typed as `MessageBoxInputData & Action`; at runtime it is the input data object.
    const res: { value?: unknown } = await ElMessageBox.prompt(message, title, {
      inputValue: value,
      confirmButtonText: t('common.save'),
      cancelButtonText: t('common.cancel'),
    });
    return typeof res.value === 'string' ? res.value : null;
  } catch {
    return null;
  }
}

/**
 * A form the API refused: its field errors (VALIDATION_FAILED details, by path) go to `onFields`, and the
 * message is toasted unless the session ended (the 401 hook already sends the user to the login page).
 */
export function reportFormError(error: unknown, onFields: (errors: Record<string, string>) => void): void {
  if (error instanceof ApiError && error.code === 'VALIDATION_FAILED') onFields(error.fieldErrors());
  if (!(error instanceof ApiError && error.status === 401)) toastError(errorText(error));
}
