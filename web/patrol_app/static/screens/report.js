// 上报问题 (#/report): grid, category buttons from the catalogue, 即办/上报/承诺 (with days), description, place
// and, if allowed, the phone's position. The new problem opens at once; it syncs when it can.
import { h, localDate, nowIso } from '../ui.js';
import { t } from '../i18n.js';
import { categoryName, gridPicker } from './parts.js';

const HANDLING = ['immediate', 'reported', 'committed'];

// Buttons of which one is on: items are [value, tag, attributes, label]; choose(value) runs on a tap.
function choiceButtons(items, choose) {
  return items.map(([value, tag, attrs, label]) => h(tag, { type: 'button', ...attrs, onclick: (e) => {
    choose(value);
    for (const b of e.currentTarget.parentNode.children) b.classList.toggle('on', b === e.currentTarget);
  } }, label));
}

function positionBox(state) {
  const note = h('span.hint', {});
  const box = h('input#gps', { type: 'checkbox', onchange: (e) => {
    if (!e.target.checked) { state.lat = state.lon = null; note.textContent = ''; return; }
    if (!navigator.geolocation) { note.textContent = t('gps_failed'); return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      state.lat = pos.coords.latitude; state.lon = pos.coords.longitude; note.textContent = t('gps_got');
    }, () => { note.textContent = t('gps_failed'); }, { timeout: 15000, maximumAge: 60000 });
  } });
  return h('label.check', {}, box, t('gps'), note);
}

export function report(ctx) {
  const state = { category: null, handling: 'reported', lat: null, lon: null };
  const cats = [...ctx.categories.entries()].filter(([, c]) => c.active !== false)
    .sort((a, b) => a[1].number - b[1].number);
  const catButtons = choiceButtons(cats.map(([id, c]) => [Number(id), 'button.cat', { 'data-category': id },
    categoryName(c)]), (value) => { state.category = value; });
  const days = h('input#promise-days', { type: 'number', min: 1, max: 90, value: 3, inputmode: 'numeric' });
  const classes = choiceButtons(HANDLING.map((k) => [k, `button.seg${k === 'reported' ? '.on' : ''}`,
    { 'data-handling': k }, t(k)]), (value) => {
    state.handling = value;
    days.parentNode.hidden = value !== 'committed';
  });
  const daysLabel = h('label', { hidden: true }, t('days'), days);
  const description = h('textarea#description', { rows: 3 });
  const place = h('input#place', { type: 'text', maxlength: 300 });
  const submit = async (e) => {
    e.preventDefault();
    const area = e.target.querySelector('input[name=report-grid]:checked');
    if (!area) return ctx.toast(t('choose_grid'));
    if (!state.category) return ctx.toast(t('choose_category'));
    if (!description.value.trim() && !place.value.trim()) return ctx.toast(t('need_description'));
    const fields = { category_id: state.category, area_id: Number(area.value), handling_class: state.handling,
      description: description.value.trim(), location_text: place.value.trim(), reported_at: nowIso() };
    if (state.handling === 'committed') {
      const d = new Date(); d.setDate(d.getDate() + Math.max(1, parseInt(days.value || '1', 10)));
      fields.promised_date = localDate(d);
    }
    if (state.lat !== null) { fields.latitude = state.lat; fields.longitude = state.lon; }
    if (ctx.runningPatrol) fields.patrol_id = ctx.runningPatrol.id;
    const id = await ctx.put('incidents', null, fields);
    ctx.toast(t('saved'));
    ctx.go(`#/problem/${id}`);
  };
  return h('form.panel', { onsubmit: submit }, gridPicker(ctx, 'report-grid'),
    h('fieldset.pick', {}, h('legend', {}, t('category')), h('div.cats', {}, catButtons)),
    h('fieldset.pick', {}, h('legend', {}, t('handling')), h('div.segs', {}, classes), daysLabel),
    h('label', {}, t('description'), description), h('label', {}, t('place'), place),
    positionBox(state),
    h('button.primary.big', { type: 'submit', id: 'submit-problem' }, t('report_problem')));
}
