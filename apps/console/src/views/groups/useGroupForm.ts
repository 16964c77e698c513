import type { Group, GroupType } from '@keyway/contracts';
import { ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { ApiError } from '../../api/http';
import { errorText, toastError, toastSuccess } from '../../ui/feedback';
import { buildCreate, buildPatch, emptyForm, formFromGroup, withListErrors } from './group-form';
import type { Describe, FieldErrors, GroupForm } from './group-form';

/** What the form dialog edits: a new group of a type, or an existing one. */
export type FormTarget = { mode: 'create'; type: GroupType } | { mode: 'edit'; group: Group };

/** The group form dialog's state: validated with the API's schema before sending, API errors shown per field. */
export function useGroupForm(onSaved: (group: Group) => void) {
  const { t } = useI18n();
  const form = ref<GroupForm>(emptyForm('standard'));
  const original = ref<Group | null>(null);
  const errors = ref<FieldErrors>({});
  const saving = ref(false);

  const describe: Describe = (problem, detail) => {
    switch (problem) {
      case 'jsonSyntax':
        return t('groups.form.jsonSyntax', { detail: detail ?? '' });
      case 'jsonNotObject':
        return t('groups.form.jsonNotObject');
      case 'redirectNotString':
        return t('groups.form.redirectNotString');
      case 'nameRule':
        return t('groups.form.nameRule');
      case 'urlInvalid':
        return t('groups.form.urlInvalid');
      case 'urlCredentials':
        return t('groups.form.urlCredentials');
      case 'urlCharacters':
        return t('groups.form.urlCharacters');
      case 'modelMissing':
        return t('groups.form.limits.modelMissing');
      case 'modelDuplicate':
        return t('groups.form.limits.modelDuplicate');
      case 'aliasDuplicate':
        return t('groups.form.routing.aliasDuplicate');
    }
  };

  function reset(target: FormTarget): void {
    errors.value = {};
    if (target.mode === 'create') {
      original.value = null;
      form.value = emptyForm(target.type);
    } else {
      original.value = target.group;
      form.value = formFromGroup(target.group);
    }
  }

  /** Validates and returns the call to make, or null after showing the field errors. */
  function prepare(): (() => Promise<Group>) | null {
    const current = original.value;
    if (current) {
      const built = buildPatch(form.value, current, describe);
      if (built.ok) return () => api.groups.update(current.id, built.body, true);
      errors.value = built.errors;
    } else {
      const built = buildCreate(form.value, describe);
      if (built.ok) return () => api.groups.create(built.body, true);
      errors.value = built.errors;
    }
    toastError(t('groups.form.fixErrors'));
    return null;
  }

  async function submit(): Promise<boolean> {
    const call = prepare();
    if (!call) return false;
    errors.value = {};
    saving.value = true;
    try {
      const saved = await call();
      toastSuccess(t('common.saved'));
      onSaved(saved);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'VALIDATION_FAILED')
        errors.value = withListErrors(e.fieldErrors());
      if (e instanceof ApiError && e.code === 'CONFLICT') errors.value = { name: e.message };
      // 401 went to the login page already; everything else is shown here.
      if (!(e instanceof ApiError && e.status === 401)) toastError(errorText(e));
      return false;
    } finally {
      saving.value = false;
    }
  }

  return { form, original, errors, saving, reset, submit };
}
