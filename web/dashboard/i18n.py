"""Chinese first: templates and views write Chinese; this table gives the English for the language switch.
A string missing here shows in Chinese, which is the product's first language anyway."""
from __future__ import annotations

EN = {
    # menu, frame
    "网格巡查": "Grid patrol", "主菜单": "Main menu", "总览": "Overview", "问题": "Problems", "巡查": "Patrols",
    "周报": "Weekly report", "台账": "Ledger", "人员与网格": "People & grids", "排班": "Schedules", "短信": "SMS",
    "退出": "Sign out", "修改密码": "Change password", "出错了": "Something went wrong",
    "返回总览": "Back to the overview",
    "区域": "Area", "下级": "Sub-areas", "请先登录": "Please sign in first",
    # sign-in
    "登录": "Sign in", "手机号": "Phone number", "密码": "Password",
    "手机号或密码错误": "Phone number or password is wrong",
    "登录失败次数过多，请 {minutes} 分钟后再试": "Too many failed sign-ins; try again in {minutes} minutes",
    "密码由管理员设置，登录后可自行修改。": "An admin sets your first password; change it after signing in.",
    "已退出": "Signed out", "当前密码": "Current password",
    "新密码（至少 8 个字符）": "New password (at least 8 characters)",
    "再输一次新密码": "New password again", "保存": "Save", "当前密码不对": "The current password is wrong",
    "两次输入的新密码不一致": "The two new passwords differ",
    "新密码至少 8 个字符": "A new password needs at least 8 characters",
    "密码已修改": "Password changed",
    # overview
    "今日概况": "Today", "未办结问题": "Open problems", "已逾期": "Overdue", "挂牌督办": "Flagged (挂牌督办)",
    "今日新报问题": "Reported today", "今日短信举报": "SMS reports today", "今日发出提醒": "Alerts sent today",
    "今日巡查": "Today's patrols", "更新于": "updated", "已巡查": "Patrolled", "迟到": "Late", "漏巡": "Missed",
    "未到时间/待核": "Not yet due", "今日无巡查时段": "No windows today",
    # problems
    "状态": "Status", "全部": "All", "未办结": "Not finished", "类别": "Category", "办理类型": "Handling",
    "逾期": "Overdue", "不限": "Any", "仅逾期": "Overdue only", "仅挂牌": "Flagged only", "起始日期": "From",
    "截止日期": "To", "筛选": "Filter", "清除": "Clear", "编号": "Ticket", "发现地": "Found in",
    "责任单位": "Responsible", "上报时间": "Reported", "期限": "Deadline", "挂牌": "Flagged",
    "没有符合条件的问题": "No problems match", "翻页": "Pages", "第一页": "First page", "下一页": "Next page",
    "上一页": "Previous page", "待受理": "Open", "处理中": "In progress", "已办结": "Resolved", "已关闭": "Closed",
    "已驳回": "Rejected", "重复": "Duplicate", "即办": "Immediate (即办)", "上报": "Escalate (上报)",
    "承诺": "Committed (承诺)", "承诺日期": "Promised", "描述": "Description", "来源": "Source",
    "重复于": "Duplicate of",
    "处理": "Act", "说明 / 备注": "Note",
    "重复于（编号，仅标记重复时填）": "Duplicate of (ticket; for Mark duplicate only)",
    "受理": "Acknowledge", "办结": "Resolve", "关闭": "Close", "驳回": "Reject", "标记重复": "Mark duplicate",
    "备注": "Note", "您的角色在此问题上没有可执行的操作": "Your role has no action on this problem",
    "处理记录": "History", "上报问题": "Reported", "上报上级": "Escalated", "转派": "Reassigned",
    "状态变更": "Status changed", "逾期提醒": "Overdue alert", "系统": "System", "接口": "API", "手机": "Phone app",
    "命令行": "CLI", "网页": "Web", "巡查发现": "found on patrol", "网格员短信": "patroller SMS",
    "居民短信举报": "resident SMS", "工作人员": "staff", "已{label}": "Done: {label}",
    # patrols
    "上一周": "Previous week", "下一周": "Next week", "周（任一天）": "Week (any day)", "查看": "Show",
    "网格太多，只显示前 200 个；请选择下级区域。": "Too many grids: showing the first 200; pick a smaller area.",
    "全部按时": "All on time", "部分": "Partly", "未巡查": "Not patrolled",
    "格内：按时巡查数/应巡时段数": "Cells: windows patrolled on time / windows due", "网格": "Grid",
    "周一": "Mon", "周二": "Tue", "周三": "Wed", "周四": "Thu", "周五": "Fri", "周六": "Sat", "周日": "Sun",
    "巡查人员（次数）": "Patrolled by (times)", "此区域没有网格": "No grids in this area", "漏巡时段": "Missed windows",
    "日期": "Date", "时段": "Window", "已确认": "Acknowledged", "已上报": "Escalated",
    "本周没有漏巡": "No missed windows this week",
    # report
    "街道": "Sub-district", "报告日（统计此日前 7 天）": "Report day (covers the 7 days before)", "统计周": "Week",
    "不含": "exclusive", "已生成于": "Generated at", "未保存，按当前数据计算": "Not stored: computed from current data",
    "下载 XLSX": "Download XLSX", "下载 CSV": "Download CSV", "生成本周周报": "Generate this week's report",
    "周报已生成": "Weekly report generated", "巡查覆盖率": "Patrol coverage", "问题数": "Problems",
    "按期办结": "Resolved on time", "居民举报": "Resident reports", "各类问题数": "Problems by category",
    "近 8 周趋势": "Last 8 weeks", "各社区巡查覆盖率": "Coverage by community", "考核排名": "Ranking",
    "得分": "Score", "排名": "Rank", "社区": "Community", "上周得分": "Last week", "覆盖率": "Coverage",
    "覆盖率%": "Coverage %", "加载中…": "Loading…",
    # ledger
    "类型": "Kind", "地址或名称": "Address or name", "导出 XLSX": "Export XLSX", "点位": "Points", "炉具": "Stoves",
    "只显示前 500 条，请缩小范围": "showing the first 500; narrow the filter", "名称": "Name", "地址": "Address",
    "炉具数": "Stoves", "最近检查": "Last inspected", "没有台账点位": "No ledger points", "已排查": "Identified",
    "已整改·煤改气": "Rectified: gas", "已整改·煤改电": "Rectified: electric", "已整改·洁净煤": "Rectified: clean coal",
    "已清零": "Cleared", "散煤户": "Loose-coal user", "工地": "Construction", "焚烧点": "Burning point",
    "餐饮": "Restaurant", "工业": "Industrial", "重点点位": "Key site", "其他": "Other",
    "记录检查": "Record an inspection",
    "检查后状态": "Status found", "检查记录": "Inspections", "尚无检查记录": "No inspections yet",
    "已记录检查": "Inspection recorded",
    # people
    "导入花名册": "Import a roster", "人": "people", "人员": "People", "姓名": "Name", "角色": "Roles",
    "设备": "Devices",
    "设置密码": "Set password", "停用": "inactive", "副": "deputy", "已停用": "revoked", "新密码": "New password",
    "设置": "Set", "此区域没有人员": "Nobody in this area", "网格员": "Patroller", "网格组长": "Grid leader",
    "社区负责人": "Community leader", "街道负责人": "Sub-district leader", "区负责人": "District leader",
    "督查员": "Supervisor", "管理员": "Admin", "志愿者": "Volunteer", "已为 {name} 设置密码": "Password set for {name}",
    "配对新手机": "Pair a new phone", "配对": "Pair", "为 {name} 配对新手机": "Pair a new phone for {name}",
    "配对码": "Pairing code", "链接": "Link", "有效至": "Valid until",
    "用手机扫描二维码，打开巡查 App 并完成配对":
        "Scan the QR code with the phone: it opens the patrol app and pairs it",
    "配对：为该人员生成一次性配对码和二维码，手机扫码或输入配对码即可登录巡查 App；配对码 24 小时内有效，只能用一次。":
        "Pair: makes a one-time code and QR code for the person; the phone scans it or types the code to sign in "
        "to the patrol app. A code is valid for 24 hours and works once.",
    ("没有扫码功能时，在手机浏览器打开上面的链接，或在巡查 App 的配对页输入配对码。"
     "配对码只能用一次，离开本页后不再显示；丢失时重新生成即可。"):
        "Without a QR scanner, open the link above in the phone's browser, or type the code on the patrol app's "
        "pairing screen. The code works once and is not shown again after you leave this page; if it is lost, "
        "make a new one.",
    "上级区域代码（新社区/网格建在其下）": "Parent area code (new communities/grids go under it)",
    "花名册文件（CSV 或 XLSX）": "Roster file (CSV or XLSX)", "检查（不写入）": "Check (writes nothing)",
    "列：社区、网格、姓名、电话、角色。": "Columns: community, grid, name, phone, role.", "检查结果": "Check result",
    "行": "rows", "全部有效": "all valid", "处错误": "errors", "将新增": "Would create", "已存在": "already there",
    "行号": "Line", "电话": "Phone", "错误": "Error", "确认导入": "Import now",
    "请改正以上错误后重新上传；没有写入任何数据。": "Fix the errors above and upload again; nothing was written.",
    "花名册已导入：新增社区 {c} 个、网格 {g} 个、人员 {m} 人":
        "Roster imported: {c} new communities, {g} new grids, {m} new people",
    # 待分类 (triage)
    "待分类": "To classify", "短信原文": "Text", "地点": "Place", "线索": "Cues",
    "改为": "Change to", "选择类别": "Choose a category", "改类": "Recategorise", "无线索": "no cue",
    "把握": "confidence",
    "同时学习这些词（可不选）": "Also learn these words (optional)", "其他词，空格分隔": "more words",
    "您的角色不能改类": "Your role cannot recategorise", "没有待分类的举报": "Nothing to classify",
    "关键词": "term", "场景线索": "context hint", "指定类别": "category named", "按地名": "by place name",
    "按网格代码": "by grid code", "未提及地点，交受理点": "no place named: the intake area",
    "系统没有把握归类的居民短信先记为“其他”，列在这里。选好类别一次改好，也可以把短信里的新词教给系统，下次同样的说法会自动归类。":
        "Residents' texts the system could not classify with confidence are filed as Other and listed here. Choose "
        "the category to change it in one step; you can also teach the system the text's new words, so the same "
        "wording is classified by itself next time.",
    "问题 {ticket} 已不在待分类列表中": "Problem {ticket} is no longer waiting to be classified",
    "已将 {ticket} 改为「{name}」": "{ticket} is now {name}", "，并学会了：{words}": "; learned: {words}",
    "已学会的词": "Words the system learned", "词": "Word", "添加人": "Added by",
    "删除": "Remove", "改类时学会": "learned when recategorising", "命令行添加": "added on the command line",
    "接口添加": "added through the API", "没有这个词": "No such word", "已删除「{word}」": "Removed “{word}”",
    "从待分类举报中学会和管理员添加的词，对所有区域的居民短信生效；只有系统管理员可以添加或删除。":
        "Words learned from reports to classify and added by admins. They apply to residents' texts in every area; "
        "only a system admin may add or remove them.",
    "纬度": "Latitude", "经度": "Longitude", "更正": "Correction",
    # schedules
    "某网格某日的实际排班": "Effective schedule of a grid on a date", "网格代码": "Grid code", "来自": "from",
    "次日": "next day", "当日无巡查时段": "No windows that day", "没有适用的排班": "No schedule applies",
    "本区域及上级的排班": "Schedules of this area and above", "每日时段": "Daily windows", "有效期": "Active",
    "长期": "always", "编辑": "Edit", "没有排班": "No schedules", "为本区域新建排班": "New schedule for this area",
    "每日时段（如 08:00-12:00, 14:00-18:00）": "Daily windows (e.g. 08:00-12:00, 14:00-18:00)",
    "攻坚期开始（可空）": "Campaign from (optional)", "攻坚期结束（可空）": "Campaign to (optional)",
    "重点时段，每行：名称; 日期或 chuxi/spring_festival; 时段":
        "Heightened periods, one per line: name; dates or chuxi/spring_festival; windows",
    "除夕": "New Year's Eve (除夕)", "春节": "Spring Festival (春节)", "排班已保存": "Schedule saved",
    # messages
    "方向": "Direction", "收到的短信": "Received", "发出的短信": "Sent",
    "手机号已隐去中间四位（仅管理员可见完整号码）。": "Phone numbers are masked (only admins see them whole).",
    "时间": "Time", "发件人": "From", "内容": "Text", "识别为": "Understood as", "回复": "Reply", "收件人": "To",
    "用途": "Purpose", "没有短信": "No messages",
    "排队中": "queued", "发送中": "sending", "已发送": "sent", "已送达": "delivered", "未送达": "undelivered",
    "失败": "failed", "已退订": "opted out", "重复未发": "duplicate (not sent)", "已过期": "expired",
    "号码无效": "invalid number", "已处理": "handled", "无法识别": "not understood", "无权限": "not permitted",
    "过于频繁": "rate limited", "恢复订阅": "opted in", "帮助": "help", "空短信": "empty", "提醒": "alert",
    "手动": "manual",
}


def translate(text: str, lang: str) -> str:
    if lang == "en":
        return EN.get(text, text)
    return text
