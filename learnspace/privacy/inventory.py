"""The data inventory: every mapped column, what kind of data it holds, how it is protected, and its fate.

``tests/privacy/test_inventory.py`` fails when a model gains a column this file does not classify, or
when it names one that no longer exists: a new column is a decision about personal data, made here.

Kinds of data:
  ID        personal-identifying: names a person on its own (name, ID card, student/teacher number, login)
  CONTENT   personal content: what a person wrote, uploaded or chose (lessons, comments, notes, photos)
  PSEUDO    pseudonymous: linked to a person only through an id (timestamps, counts, sessions, activity)
  NONE      not personal (catalogue, schools, roll-up counts, job bookkeeping)
Protection:
  ENCRYPTED AES-GCM with a key outside the database (accounts.idcard)
  HASHED    keyed HMAC, SHA-256 or argon2; the value itself is never stored
  MASKED    only a masked form is stored or shown
  SCOPED    shown only to the person, and to admins whose scope covers them (accounts.scope), or as the
            person chose (a lesson's visibility, a note's visibility)
  PLAIN     no particular protection (not personal, or public by design such as a school's name)
What a deletion does with a table's rows (``Table.on_delete``):
  delete    the rows about the person go
  anonymise the row stays (it is someone else's or the platform's record) and the link to the person is
            cut: ``refs`` are set to NULL (foreign keys ON DELETE SET NULL) or the row is re-parented
  keep      kept as it is, for the reason given (law, statistics); holds no name or number of the person
  none      not about people
"""
from __future__ import annotations

from dataclasses import dataclass, field

ID, CONTENT, PSEUDO, NONE = "identifying", "content", "pseudonymous", "none"
ENCRYPTED, HASHED, MASKED, SCOPED, PLAIN = "encrypted", "hashed", "masked", "access-scoped", "none"
KIND_NAMES = {ID: "可识别身份", CONTENT: "个人内容", PSEUDO: "假名化", NONE: "非个人信息"}
PROTECTION_NAMES = {ENCRYPTED: "加密", HASHED: "哈希", MASKED: "遮盖", SCOPED: "按权限范围可见", PLAIN: "无"}


@dataclass(frozen=True)
class Table:
    """How one table holds personal data, and what happens to its rows when the person is deleted."""

    on_delete: str
    why: str
    #: column → (kind, protection)
    columns: dict[str, tuple[str, str]]
    #: columns naming the person the row is about (exported, and deleted with them)
    owner: tuple[str, ...] = ()
    #: columns naming another person involved (an actor): set to NULL when that person is deleted
    refs: tuple[str, ...] = ()
    #: columns never written to an export (secrets: hashes, ciphertext, tokens)
    secret: tuple[str, ...] = field(default=())


_N = (NONE, PLAIN)
_P = (PSEUDO, SCOPED)
_C = (CONTENT, SCOPED)

INVENTORY: dict[str, Table] = {
    # --- accounts -----------------------------------------------------------------------------------
    "users": Table(
        "delete", "本人的账号：注销后整行删除（含姓名、学籍号、身份证号）；统计只保留不含个人信息的汇总数。",
        owner=("id",),
        secret=("id_card_encrypted", "id_card_hash", "password_hash"),
        columns={
            "id": _P, "real_name": (ID, SCOPED), "role": _P, "school_id": _P, "region_code": _P,
            "student_number": (ID, SCOPED), "teacher_number": (ID, SCOPED),
            "id_card_encrypted": (ID, ENCRYPTED), "id_card_hash": (ID, HASHED), "id_card_masked": (ID, MASKED),
            "grade": _P, "class_name": _P, "login_name": (ID, SCOPED), "password_hash": (PSEUDO, HASHED),
            "is_disabled": _P, "rostered_dt": _P, "updated_dt": _P,
        }),
    "identities": Table(
        "delete", "与统一身份认证平台账号的绑定，随人删除。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "provider": _P, "subject": (ID, SCOPED), "linked_dt": _P,
                 "last_login_dt": _P}),
    "user_sessions": Table(
        "delete", "登录会话（登录记录）；删除即结束所有会话。", owner=("user_id",), secret=("token_hash",),
        columns={"id": _N, "token_hash": (PSEUDO, HASHED), "user_id": _P, "created_dt": _P, "last_seen_dt": _P,
                 "revoked_dt": _P}),
    "activation_codes": Table(
        "delete", "激活码只存哈希，随人删除；代发的管理员在其被删时置空。", owner=("user_id",),
        refs=("created_by_id",), secret=("code_hash", "code_encrypted"),
        columns={"id": _N, "user_id": _P, "code_hash": (PSEUDO, HASHED), "created_dt": _P, "expires_dt": _P,
                 "used_dt": _P, "revoked_dt": _P, "created_by_id": _P, "kind": _N, "batch_id": _N,
                 # the printable code, kept only for the reprint window, then wiped by the worker
                 "code_encrypted": (PSEUDO, ENCRYPTED)}),
    "code_batches": Table(
        "anonymise", "一批激活码/重置码属于学校；单人批次的本人和生成的管理员被删时置空。", refs=("user_id", "created_by_id"),
        columns={"id": _N, "kind": _N, "school_id": _N, "grade": _N, "class_name": _N, "user_id": _P,
                 "created_by_id": _P, "created_dt": _N, "expires_dt": _N, "reprint_until_dt": _N}),
    "school_transfers": Table(
        "delete", "本人的转学记录，随人删除。", owner=("user_id",), refs=("actor_id",),
        columns={"id": _N, "user_id": _P, "from_school_id": _P, "to_school_id": _P, "moved_dt": _P,
                 "actor_id": _P}),
    "school_claim_reports": Table(
        "delete", "认证平台报告的学校不一致，随人删除。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "school_id": _P, "provider": _P, "asserted_school_code": _P,
                 "reported_dt": _P, "resolved_dt": _P}),
    "guardian_consents": Table(
        "delete", "监护人同意记录（含监护人姓名）随学生删除：删除请求本身已作为审计记录保留。",
        owner=("student_id",), refs=("recorded_by_id", "withdrawn_by_id"),
        columns={"id": _N, "student_id": _P, "guardian_name": (ID, SCOPED), "relation": _P,
                 "notice_version": _N, "given_dt": _P, "recorded_by_id": _P, "recorded_dt": _P,
                 "withdrawn_dt": _P, "withdrawn_by_id": _P}),
    "throttle_events": Table(
        "keep", "登录失败计数只存“范围:账号或IP”和账号的 SHA-256，不含账号本身；注销时按账号删除，其余 24 小时后由后台删除。",
        columns={"id": _N, "key_hash": (PSEUDO, HASHED), "created_dt": _N,
                 # SHA-256 of the login name, so an admin can clear one person's failures from every address
                 "account_hash": (PSEUDO, HASHED)}),
    # --- spaces -------------------------------------------------------------------------------------
    "spaces": Table(
        "delete", "本人的学习空间，随人删除；开通数已计入统计汇总，汇总数保留。", owner=("owner_id",),
        columns={"id": _P, "owner_id": _P, "activated_dt": _P, "activated_school_id": _P,
                 "activation_method": _P, "title": _C, "quota_bytes": _P}),
    "teacher_profiles": Table(
        "delete", "教师简介与照片（照片对象一并删除）。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "subjects": _C, "grades": _C, "introduction": _C,
                 "photo_key": (CONTENT, SCOPED), "photo_content_type": _P, "default_visibility": _P,
                 "updated_dt": _P}),
    "follows": Table(
        "delete", "关注关系涉及两人：任何一方注销，该关注即删除。", owner=("follower_id",), refs=("followed_id",),
        columns={"id": _N, "follower_id": _P, "followed_id": _P, "created_dt": _P}),
    "announcements": Table(
        "delete", "本人发布的空间公告。", owner=("author_id",),
        columns={"id": _N, "author_id": _P, "body": _C, "created_dt": _P}),
    "space_visits": Table(
        "delete", "本人访问他人空间的记录（访问计数随之减少）。", owner=("visitor_id",),
        columns={"id": _N, "space_id": _P, "visitor_id": _P, "day": _P, "first_dt": _P}),
    # --- lessons ------------------------------------------------------------------------------------
    "lessons": Table(
        "delete", "课例是教师本人的作品（课堂实录含本人影像和声音），随人删除，连同其文件、评论和他人的学习记录；"
                  "浏览次数等已计入统计汇总的数保留。", owner=("teacher_id",),
        columns={"id": _P, "title": _C, "description": _C, "stage": _P, "subject": _P, "grade": _P,
                 "edition": _P, "catalog_node_id": _P, "lesson_type": _P, "language": _P, "teacher_id": _P,
                 "school_id": _P, "visibility": _P, "status": _P, "created_dt": _P, "updated_dt": _P,
                 "published_dt": _P, "view_count": _P}),
    "lesson_files": Table(
        "delete", "课例文件（MinIO 对象一并删除）；为他人课例上传的文件留在课例中，上传者置空。",
        owner=("uploader_id",), refs=("uploader_id",), secret=("upload_id",),
        columns={"id": _N, "lesson_id": _P, "kind": _P, "object_key": (CONTENT, SCOPED),
                 "original_name": _C, "content_type": _P, "size": _P, "part_size": _N, "upload_id": _N,
                 "sha256": _P, "status": _P, "failure_reason": _P, "uploader_id": _P, "created_dt": _P,
                 "ready_dt": _P, "duration_seconds": _P, "width": _P, "height": _P, "video_codec": _P,
                 "audio_codec": _P, "poster_key": (CONTENT, SCOPED), "is_showcase_eligible": _P,
                 "ineligible_reason": _P}),
    "lesson_views": Table(
        "delete", "本人当天看过哪节课的去重记录（每人每课每天计一次浏览）；计入浏览次数后两天内自动删除。",
        owner=("user_id",),
        columns={"id": _N, "lesson_id": _P, "day": _P, "viewer": _P, "user_id": _P, "counted": _N}),
    # --- comments -----------------------------------------------------------------------------------
    "comments": Table(
        "delete", "本人的评论和提问删除；他人对其的回复保留（改为课例下的评论），不丢失他人的内容。",
        owner=("author_id",), refs=("hidden_by_id",),
        columns={"id": _N, "lesson_id": _P, "author_id": _P, "parent_id": _P, "kind": _P, "body": _C,
                 "created_dt": _P, "hidden_dt": _P, "hidden_by": _P, "hidden_by_id": _P}),
    "comment_likes": Table(
        "delete", "本人的点赞。", owner=("user_id",),
        columns={"id": _N, "comment_id": _P, "user_id": _P, "created_dt": _P}),
    "comment_reports": Table(
        "delete", "本人提交的举报（已处理的决定在审计日志中保留，不含举报人）。", owner=("reporter_id",),
        refs=("decided_by_id",),
        columns={"id": _N, "comment_id": _P, "reporter_id": _P, "reason": _P, "note": _C, "created_dt": _P,
                 "decided_dt": _P, "decision": _P, "decided_by_id": _P}),
    # --- study --------------------------------------------------------------------------------------
    "watch_progress": Table(
        "delete", "本人的观看进度。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "lesson_id": _P, "position_seconds": _P, "duration_seconds": _P,
                 "is_finished": _P, "started_dt": _P, "updated_dt": _P}),
    "watch_days": Table(
        "delete", "本人每日观看时长。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "lesson_id": _P, "day": _P, "seconds": _P}),
    "favourites": Table(
        "delete", "本人的收藏。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "lesson_id": _P, "created_dt": _P}),
    "lesson_notes": Table(
        "delete", "本人的笔记。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "lesson_id": _P, "body": _C, "position_seconds": _P,
                 "visibility": _P, "created_dt": _P, "updated_dt": _P}),
    # --- activity and statistics --------------------------------------------------------------------
    "activity_days": Table(
        "delete", "本人每日使用记录删除；其已计入的活跃数留在匿名汇总（rollup_*）中。", owner=("user_id",),
        columns={"id": _N, "user_id": _P, "day": _P, "kind": _P, "school_id": _P, "count": _P,
                 "first_dt": _P, "last_dt": _P}),
    "active_marks": Table(
        "delete", "“已计为活跃”的个人标记删除，但不从汇总中扣减：统计保留匿名的历史活跃数。", owner=("user_id",),
        columns={"user_id": _P, "period": _P, "start": _P, "school_id": _P, "role": _P}),
    "rollup_totals": Table(
        "none", "按单位、角色的汇总数，不含个人。",
        columns={"unit": _N, "role": _N, "rostered": _N, "activated": _N, "publishing_teachers": _N, "views": _N}),
    "rollup_days": Table(
        "keep", "按单位、角色、日期的匿名汇总数：注销者过去的开通和活跃次数保留（统计需要）。",
        columns={"unit": _N, "role": _N, "day": _N, "new_activations": _N, "active": _N, "uploaded": _N,
                 "published": _N}),
    "rollup_periods": Table(
        "keep", "按单位、角色、周/月的匿名活跃汇总数，保留。",
        columns={"unit": _N, "role": _N, "period": _N, "start": _N, "active": _N}),
    "stats_targets": Table(
        "anonymise", "年度目标属于单位；设置人被删时置空。", refs=("set_by_id",),
        columns={"id": _N, "unit": _N, "year": _N, "new_spaces": _N, "set_by_id": _P, "updated_dt": _N}),
    "stats_ranking_weights": Table(
        "anonymise", "排名权重属于平台；设置人被删时置空。", refs=("updated_by_id",),
        columns={"id": _N, "activation_rate": _N, "weekly_active_rate": _N, "monthly_active_rate": _N,
                 "teacher_publish_share": _N, "lessons_per_teacher": _N, "min_rostered": _N,
                 "updated_by_id": _P, "updated_dt": _N}),
    # --- audit, jobs, search ------------------------------------------------------------------------
    "audit_entries": Table(
        "keep", "审计日志依《网络安全法》第二十一条至少留存六个月，只含编号、动作和 IP，不含姓名或证件号；"
                "注销后编号不再对应任何人。", owner=("actor_id",),
        columns={"id": _N, "created_dt": _P, "actor_id": _P, "ip": (PSEUDO, SCOPED), "action": _P,
                 "target": _P, "result": _P, "detail": _P}),
    "jobs": Table(
        "keep", "后台任务只含对象编号（如文件、申请编号），不含姓名。",
        columns={"id": _N, "kind": _N, "payload": _N, "state": _N, "attempts": _N, "max_attempts": _N,
                 "run_after_dt": _N, "dedupe_key": _N, "locked_by": _N, "locked_until_dt": _N, "last_error": _N,
                 "created_dt": _N, "started_dt": _N, "finished_dt": _N}),
    "job_workers": Table("none", "工作进程心跳。", columns={"name": _N, "started_dt": _N, "seen_dt": _N}),
    "search_outbox": Table("none", "待更新索引的课例编号；学校、教师改名或教材目录修改时暂存其编号，"
                           "索引程序展开为相关课例；各节点都已应用后删除（不含姓名）。",
                           columns={"id": _N, "doc_type": _N, "doc_id": _N, "created_dt": _N, "txid": _N}),
    "search_nodes": Table("none", "每个应用节点的搜索索引副本读到待更新队列的哪一处（节点名、位置、时间，不含个人信息）。",
                          columns={"node_id": _N, "cursor": _N, "applied_ids": _N, "generation": _N,
                                   "seen_dt": _N, "rebuilt_dt": _N}),
    # --- moderation, catalogue, orgs ----------------------------------------------------------------
    "blocked_terms": Table(
        "anonymise", "负面用语清单属于平台；添加人被删时置空。", refs=("created_by_id",),
        columns={"id": _N, "term": _N, "folded": _N, "source": _N, "created_dt": _N, "created_by_id": _P}),
    "catalog_nodes": Table(
        "none", "教材目录。",
        columns={"id": _N, "key": _N, "parent_id": _N, "level": _N, "name": _N, "position": _N, "path": _N,
                 "stage": _N, "subject": _N, "edition": _N, "grade": _N, "created_dt": _N}),
    "school_editions": Table(
        "none", "学校选用的教材版本。",
        columns={"id": _N, "school_id": _N, "grade": _N, "subject": _N, "edition_node_id": _N}),
    "regions": Table("none", "行政区划。",
                     columns={"code": _N, "name": _N, "level": _N, "parent_code": _N, "created_dt": _N}),
    "schools": Table("none", "学校（公开信息）。",
                     columns={"id": _N, "code": _N, "name": _N, "stage": _N, "county_code": _N, "created_dt": _N}),
    # --- privacy ------------------------------------------------------------------------------------
    "privacy_requests": Table(
        "anonymise", "下载申请及其压缩包随人删除；注销申请保留为“曾有一次注销”的记录，与人的关联置空。",
        owner=("subject_id",), refs=("requested_by_id",),
        columns={"id": _N, "kind": _N, "subject_id": _P, "requested_by_id": _P, "via": _N, "state": _N,
                 "created_dt": _N, "run_after_dt": _N, "finished_dt": _N, "object_key": _P, "size": _N,
                 "expires_dt": _N, "detail": _N}),
}


def owned_tables() -> dict[str, tuple[str, ...]]:
    """Return table → owner columns for every table holding rows about a person."""
    return {name: t.owner for name, t in INVENTORY.items() if t.owner}


def check(mapped: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Return (columns of *mapped* the inventory does not classify, columns it classifies that are not mapped)."""
    missing = sorted(f"{t}.{c}" for t, cols in mapped.items() for c in cols
                     if t not in INVENTORY or c not in INVENTORY[t].columns)
    stale = sorted(f"{t}.{c}" for t, spec in INVENTORY.items() for c in spec.columns
                   if c not in mapped.get(t, set()))
    return missing, stale
