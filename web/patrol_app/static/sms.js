// The SMS fallback: the coded texts of docs/sms.md, ending in "#<record id>" so the gateway files the
// record under the phone's own id and the later sync merges into it instead of duplicating.
const CLASS_WORD = { immediate: '即办', reported: '上报' };

function promisedDays(promisedDate, today) {
  if (!promisedDate) return 1;
  const days = Math.round((Date.parse(promisedDate) - Date.parse(today)) / 86400000);
  return Math.max(1, days);
}

export function patrolText(patrol, gridCode) {
  const outcome = patrol.problem_count > 0 ? String(patrol.problem_count) : '正常';
  return `巡查 ${gridCode} ${outcome} #${patrol.id}`;
}

export function incidentText(incident, gridCode, categoryNumber, today = new Date().toISOString().slice(0, 10)) {
  const cls = incident.handling_class === 'committed'
    ? `承诺${promisedDays(incident.promised_date, today)}天` : (CLASS_WORD[incident.handling_class] || '上报');
  const what = [incident.location_text, incident.description].filter(Boolean).join(' ').replace(/#/g, ' ').trim();
  return `发现 ${gridCode} ${categoryNumber} ${cls}${what ? ' ' + what : ''} #${incident.id}`;
}

export function smsLink(number, text) {
  return `sms:${number}?body=${encodeURIComponent(text)}`;
}
