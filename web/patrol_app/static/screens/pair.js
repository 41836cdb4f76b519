// 绑定手机 (/app/pair?code=…, or any screen before pairing): the code from the link, one tap.
import { h } from '../ui.js';
import { t } from '../i18n.js';

export function pair(ctx, code) {
  const input = h('input#pair-code', { type: 'text', value: code || '', autocomplete: 'off',
    autocapitalize: 'characters' });
  return h('form.panel', { onsubmit: async (e) => { e.preventDefault(); await ctx.pair(input.value); } },
    h('h2', {}, t('pair_title')), h('p', {}, t('pair_help')), h('label', {}, t('pair_code'), input),
    h('button.primary.big', { type: 'submit', id: 'pair-button' }, t('pair_button')));
}
