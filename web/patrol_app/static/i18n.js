// Chinese first, English on the switch. Keys are the Chinese labels' meaning, in English.
const zh = {
  app: '网格巡查', today: '今日', patrol: '巡查', report: '上报', problems: '问题', ledger: '台账', sync: '同步',
  start_patrol: '开始巡查', end_patrol: '结束巡查', report_problem: '上报问题', sync_now: '立即同步',
  send_sms: '短信发送', my_grids: '我的网格', window_now: '当前时段', window_next: '下一时段',
  window_none: '今天没有巡查时段了', done: '已完成', not_done: '未完成', overdue_flagged: '超期与挂牌督办', none: '无',
  pending: '待同步', grid: '网格', outcome: '结果', all_clear: '正常', problems_found: '发现问题数',
  checkpoints: '巡查点（可选，每行一个）', notes: '备注', started: '开始于', patrol_running: '巡查进行中',
  category: '类别', handling: '处理方式', immediate: '即办', reported: '上报', committed: '承诺', days: '天数',
  description: '描述', place: '地点', gps: '附上我的位置', gps_got: '已获取位置', gps_failed: '无法获取位置',
  submit: '提交', saved: '已保存，等待同步', status: '状态', deadline: '期限', history: '处理记录', actions: '操作',
  handle: '办结', escalate: '上报', acknowledge: '收到', note: '备注', add_note: '添加备注', back: '返回',
  ticket: '工单号', no_ticket: '（同步后分配）', waiting: '等待同步', synced: '已同步', merged: '已合并',
  refused: '被拒绝', lost_words: '您的修改被较新的修改覆盖：', refused_words: '未被接受：', sites: '台账点位',
  stoves: '炉具数', inspect: '检查', inspection: '检查登记', last_inspected: '上次检查', pending_count: '待同步记录',
  last_sync: '上次成功同步', never: '从未', results: '合并或被拒绝的记录', storage: '存储', persisted: '已申请持久存储',
  not_persisted: '存储可能被浏览器清理', quota: '手机存储已满，无法保存！请清理空间后重试。', offline: '离线',
  online: '在线', sign_out: '退出登录',
  sign_out_warn: '还有 {n} 条记录未同步，退出将不会删除它们，但在重新配对前无法上传。确定退出？',
  pair_title: '绑定手机', pair_code: '配对码', pair_button: '绑定', pair_help: '请向组长索取配对码，或扫描二维码。',
  paired_as: '当前用户', sms_hint: '长时间无法联网：可用短信发送此记录', online_needed: '此操作需要联网，也可短信发送',
  syncing: '正在同步…', sync_failed: '同步失败', sync_ok: '同步完成', status_open: '待处理',
  status_in_progress: '处理中', status_resolved: '已办结', status_closed: '已关闭', status_rejected: '已驳回',
  status_duplicate: '重复', flagged: '挂牌督办', overdue: '已超期',
  reset_notice: '服务器数据已重置，已重新下载；未同步记录保留。', language: 'English',
  reason_role_not_permitted: '无权限', reason_out_of_scope: '不在您的网格范围',
  reason_validation_failed: '内容不符合要求', reason_illegal_transition: '状态已变化，无法执行',
  reason_append_only: '已提交的记录不能修改', reason_deleted: '记录已被删除', field_description: '描述',
  field_status: '状态', field_location_text: '地点', field_handling_class: '处理方式', field_category_id: '类别',
  field_promised_date: '承诺日期', field_stove_count: '炉具数', field_notes: '备注', field_outcome: '结果',
  field_problem_count: '问题数', field_ended_at: '结束时间', site_status: '状态', site_identified: '已登记',
  site_rectified_gas: '已改气', site_rectified_electric: '已改电', site_rectified_clean_coal: '改洁净煤',
  site_cleared: '已清零', event_created: '上报', event_handled: '办结', event_escalated: '上报上级',
  event_acknowledged: '收到', event_reassigned: '转派', event_status_change: '状态变更', event_note: '备注',
  event_deadline_alert: '期限提醒', col_incidents: '问题', col_patrols: '巡查', col_sites: '台账点位',
  col_incident_events: '备注', no_records: '暂无记录', choose_grid: '请选择网格', choose_category: '请选择类别',
  need_description: '请填写描述',
};
const en = {
  app: 'Grid patrol', today: 'Today', patrol: 'Patrol', report: 'Report', problems: 'Issues', ledger: 'Ledger',
  sync: 'Sync', start_patrol: 'Start patrol', end_patrol: 'End patrol', report_problem: 'Report problem',
  sync_now: 'Sync now', send_sms: 'Send by SMS', my_grids: 'My grids', window_now: 'Current window',
  window_next: 'Next window', window_none: 'No more windows today', done: 'done', not_done: 'not done',
  overdue_flagged: 'Overdue and flagged', none: 'None', pending: 'waiting', grid: 'Grid', outcome: 'Outcome',
  all_clear: 'All clear', problems_found: 'Problems found', checkpoints: 'Checkpoints (optional, one per line)',
  notes: 'Notes', started: 'Started', patrol_running: 'Patrol in progress', category: 'Category', handling: 'Handling',
  immediate: 'On the spot', reported: 'Report up', committed: 'Promise', days: 'Days', description: 'Description',
  place: 'Place', gps: 'Attach my position', gps_got: 'Position attached', gps_failed: 'No position', submit: 'Save',
  saved: 'Saved, waiting to sync', status: 'Status', deadline: 'Deadline', history: 'History', actions: 'Actions',
  handle: 'Handled', escalate: 'Escalate', acknowledge: 'Acknowledge', note: 'Note', add_note: 'Add note', back: 'Back',
  ticket: 'Ticket', no_ticket: '(after sync)', waiting: 'Waiting', synced: 'Synced', merged: 'Merged',
  refused: 'Refused', lost_words: 'Your change was overwritten by a newer one: ', refused_words: 'Not accepted: ',
  sites: 'Ledger points', stoves: 'Stoves', inspect: 'Inspect', inspection: 'Inspection',
  last_inspected: 'Last inspected', pending_count: 'Records waiting', last_sync: 'Last successful sync', never: 'never',
  results: 'Merged or refused records', storage: 'Storage', persisted: 'Persistent storage granted',
  not_persisted: 'The browser may clear storage',
  quota: 'Phone storage is full; nothing could be saved! Free some space and try again.', offline: 'Offline',
  online: 'Online', sign_out: 'Sign out',
  sign_out_warn: '{n} records are still waiting. Signing out keeps them, but they cannot upload until you pair again. '
    + 'Sign out?',
  pair_title: 'Pair this phone', pair_code: 'Pairing code', pair_button: 'Pair',
  pair_help: 'Ask your leader for a pairing code or scan the QR.', paired_as: 'Signed in as',
  sms_hint: 'No data for a long time: send this record by SMS', online_needed: 'Needs a connection, or send by SMS',
  syncing: 'Syncing…', sync_failed: 'Sync failed', sync_ok: 'Sync complete', status_open: 'Open',
  status_in_progress: 'In progress', status_resolved: 'Resolved', status_closed: 'Closed', status_rejected: 'Rejected',
  status_duplicate: 'Duplicate', flagged: 'Flagged', overdue: 'Overdue',
  reset_notice: 'The server was reset; data downloaded again, waiting records kept.', language: '中文',
  reason_role_not_permitted: 'not permitted for your role', reason_out_of_scope: 'outside your grids',
  reason_validation_failed: 'invalid content', reason_illegal_transition: 'the status changed meanwhile',
  reason_append_only: 'submitted records cannot change', reason_deleted: 'the record was deleted',
  field_description: 'description', field_status: 'status', field_location_text: 'place',
  field_handling_class: 'handling', field_category_id: 'category', field_promised_date: 'promised date',
  field_stove_count: 'stoves', field_notes: 'notes', field_outcome: 'outcome', field_problem_count: 'problem count',
  field_ended_at: 'end time', site_status: 'Status', site_identified: 'identified', site_rectified_gas: 'to gas',
  site_rectified_electric: 'to electric', site_rectified_clean_coal: 'clean coal', site_cleared: 'cleared',
  event_created: 'Reported', event_handled: 'Handled', event_escalated: 'Escalated', event_acknowledged: 'Acknowledged',
  event_reassigned: 'Reassigned', event_status_change: 'Status change', event_note: 'Note',
  event_deadline_alert: 'Deadline alert', col_incidents: 'Problem', col_patrols: 'Patrol', col_sites: 'Ledger point',
  col_incident_events: 'Note', no_records: 'Nothing yet', choose_grid: 'Choose a grid',
  choose_category: 'Choose a category', need_description: 'Describe the problem',
};
const tables = { zh, en };
let lang = 'zh';
export function setLang(value) {
  lang = tables[value] ? value : 'zh';
  document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
}
export function getLang() { return lang; }
export function t(key, vars = {}) {
  const text = tables[lang][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
// A lost field or refusal in plain words: "您的修改被较新的修改覆盖：描述".
export function explain(detail) {
  if (!detail) return '';
  const parts = [];
  if (detail.lost_fields && Object.keys(detail.lost_fields).length) {
    const lost = Object.keys(detail.lost_fields).map((f) => t(`field_${f}`));
    parts.push(t('lost_words') + lost.join(lang === 'zh' ? '、' : ', '));
  }
  if (detail.status === 'rejected' || detail.status === 'conflict') {
    const reason = detail.reason ? t(`reason_${detail.reason}`) : '';
    const fieldError = ([f, m]) => {
      const name = f === '_schema' ? '' : `${t(`field_${f}`)} `;
      return name + (Array.isArray(m) ? m.join(' ') : JSON.stringify(m));
    };
    const fields = detail.errors ? Object.entries(detail.errors).map(fieldError).join('；') : '';
    if (reason || fields) parts.push(t('refused_words') + [reason, fields].filter(Boolean).join('：'));
  }
  return parts.join(' ');
}
