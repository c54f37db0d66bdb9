"""Media facts of a recording: ffprobe for duration, size and codecs, ffmpeg for a poster image.

ffprobe and ffmpeg read the stored object over HTTP through a short-lived
presigned URL on the internal MinIO endpoint (they seek with Range requests),
so nothing is copied to local disk and no file is held in memory. Problems
with the media never fail an upload: the recording is kept and flagged.
Only StorageError (MinIO unreachable) escapes, so the caller can verify again
later. ``inspect`` touches no database, only the row's attributes: it works on
a stand-in row outside any transaction while ffmpeg runs.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import uuid

from ..storage import StorageError, get_storage
from ..storage.delivery import presigned_get_url
from .models import LessonFile

log = logging.getLogger(__name__)

#: the national activity's technical requirements for a showcase recording
MIN_WIDTH, MIN_HEIGHT = 720, 576
REQUIRED_VIDEO_CODEC, REQUIRED_AUDIO_CODEC = "h264", "aac"
#: the presigned URL only has to outlive the ffprobe and ffmpeg runs below
URL_SECONDS = 600
PROBE_TIMEOUT, POSTER_TIMEOUT = 60, 120
#: ffmpeg gives up on a stalled HTTP read after this many microseconds
RW_TIMEOUT_US = 20_000_000
POSTER_MAX_WIDTH = 1280
POSTER_MAX_BYTES = 5 * 1024 * 1024

REASON_NO_FFMPEG = "服务器未安装 ffmpeg"
REASON_UNREADABLE = "无法读取视频信息"

# Only plain HTTP(S) and only the demuxers of the formats the upload allows: a crafted
# file (an HLS playlist in disguise, say) must not make ffmpeg open local files or other URLs.
_SAFE_INPUT = ["-protocol_whitelist", "http,https,tcp,tls",
               "-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm",
               "-rw_timeout", str(RW_TIMEOUT_US)]


def inspect(file: LessonFile) -> LessonFile:
    """Fill a recording's media facts, poster and showcase eligibility; raise only StorageError, never for media."""
    ffprobe, ffmpeg = shutil.which("ffprobe"), shutil.which("ffmpeg")
    if ffprobe is None or ffmpeg is None:
        log.warning("ffprobe/ffmpeg not found on PATH: media facts of file %s left unknown", file.id)
        _set_unknown(file, REASON_NO_FFMPEG)
        return file
    try:
        url = presigned_get_url(file.object_key, expires_seconds=URL_SECONDS, public=False)
    except StorageError as exc:  # presigning is pure computation: only a backend without URLs gets here
        log.warning("cannot presign file %s for ffprobe: %s", file.id, exc)
        _set_unknown(file, REASON_UNREADABLE)
        return file

    probe = _probe(ffprobe, url, file.id)
    if probe is None:
        # Unreadable media, or MinIO went away: the latter raises StorageError here, so
        # the caller can verify again later instead of flagging a good recording.
        get_storage().exists(file.object_key)
        _set_facts(file, {})
        file.is_showcase_eligible, file.ineligible_reason = False, REASON_UNREADABLE
        return file

    facts = _facts_from_probe(probe)
    _set_facts(file, facts)
    problems = eligibility_problems(facts, file.content_type)
    file.is_showcase_eligible = not problems
    file.ineligible_reason = "；".join(problems)[:255] if problems else None
    if facts.get("video_codec"):
        _store_poster(file, ffmpeg, url, facts.get("duration_seconds"))
    log.info("media facts of file %s: %s×%s %s/%s %.1fs eligible=%s", file.id, file.width, file.height,
             file.video_codec, file.audio_codec, file.duration_seconds or 0, file.is_showcase_eligible)
    return file


def eligibility_problems(facts: dict, content_type: str | None = None) -> list[str]:
    """List, in Chinese, why a recording with these facts misses the showcase requirements."""
    problems = []
    if not facts.get("is_mp4"):
        problems.append(f"容器格式为 {_container_label(facts, content_type)}，应为 MP4")
    video, audio = facts.get("video_codec"), facts.get("audio_codec")
    if not video:
        problems.append("没有视频画面")
    else:
        if video != REQUIRED_VIDEO_CODEC:
            problems.append(f"视频编码为 {video}，应为 H.264")
        width, height = facts.get("width") or 0, facts.get("height") or 0
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            problems.append(f"分辨率 {width}×{height} 低于 {MIN_WIDTH}×{MIN_HEIGHT}")
    if not audio:
        problems.append("没有音频")
    elif audio != REQUIRED_AUDIO_CODEC:
        problems.append(f"音频编码为 {audio}，应为 AAC")
    return problems


def _container_label(facts: dict, content_type: str | None) -> str:
    names = facts.get("format_name", "").split(",")
    if "webm" in names or content_type == "video/webm":
        return "WebM"
    if facts.get("major_brand") == "qt":
        return "MOV"
    return (names[0] or "未知").upper()


def _run(args: list[str], timeout: int) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.warning("%s timed out after %ss", args[0].rsplit("/", 1)[-1], timeout)
    except OSError as exc:
        log.warning("%s could not run: %s", args[0].rsplit("/", 1)[-1], type(exc).__name__)
    return None


def _probe(ffprobe: str, url: str, file_id: int) -> dict | None:
    result = _run([ffprobe, "-v", "error", *_SAFE_INPUT, "-print_format", "json",
                   "-show_format", "-show_streams", url], PROBE_TIMEOUT)
    if result is None:
        return None
    try:
        probe = json.loads(result.stdout or b"{}")
    except ValueError:
        probe = {}
    if result.returncode != 0 or not probe.get("streams"):
        # stderr quotes the signed URL: log the message with the URL cut out.
        detail = (result.stderr or b"").decode("utf-8", "replace").replace(url, "<object>").strip()
        log.info("ffprobe could not read file %s (exit %s): %s", file_id, result.returncode,
                 detail.splitlines()[-1][:200] if detail else "no streams")
        return None
    return probe


def _facts_from_probe(probe: dict) -> dict:
    fmt = probe.get("format") or {}
    streams = probe.get("streams") or []
    # Cover art inside an MP4 shows up as a one-frame video stream; it is not the recording.
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    format_names = (fmt.get("format_name") or "").split(",")
    brand = ((fmt.get("tags") or {}).get("major_brand") or "").strip().lower()
    duration = _number(fmt.get("duration")) or max(
        (_number(s.get("duration")) or 0.0 for s in streams), default=0.0) or None
    return {
        "format_name": fmt.get("format_name") or "",
        "major_brand": brand,
        # ffmpeg names one demuxer for the whole ISO family; QuickTime files say so in their brand.
        "is_mp4": "mp4" in format_names and brand != "qt",
        "duration_seconds": duration,
        "width": _int(video.get("width")) if video else None,
        "height": _int(video.get("height")) if video else None,
        "video_codec": (video.get("codec_name") or "unknown")[:32] if video else None,
        "audio_codec": (audio.get("codec_name") or "unknown")[:32] if audio else None,
    }


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and number == number else None  # NaN != NaN


def _int(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _set_facts(file: LessonFile, facts: dict) -> None:
    file.duration_seconds = facts.get("duration_seconds")
    file.width, file.height = facts.get("width"), facts.get("height")
    file.video_codec, file.audio_codec = facts.get("video_codec"), facts.get("audio_codec")


def _set_unknown(file: LessonFile, reason: str) -> None:
    _set_facts(file, {})
    file.is_showcase_eligible, file.ineligible_reason = None, reason


def poster_time(duration: float | None) -> float:
    """Pick the moment for the poster: a tenth into the recording, past the first black frames."""
    if not duration:
        return 1.0
    return round(duration * 0.1, 3)


def _store_poster(file: LessonFile, ffmpeg: str, url: str, duration: float | None) -> None:
    image = None
    for at in dict.fromkeys((poster_time(duration), 0.0)):  # retry at the start when seeking found nothing
        image = _grab_frame(ffmpeg, url, at)
        if image:
            break
    if not image:
        log.info("no poster frame could be extracted from file %s", file.id)
        return
    key = f"lessons/{file.lesson_id}/posters/{uuid.uuid4().hex}.jpg"
    get_storage().put_bytes(key, image, content_type="image/jpeg")  # StorageError: retried with the rest
    old, file.poster_key = file.poster_key, key
    if old and old != key:
        try:
            get_storage().delete(old)
        except StorageError:
            log.warning("old poster %s of file %s not deleted; reconcile will find it", old, file.id)


def _grab_frame(ffmpeg: str, url: str, at: float) -> bytes | None:
    # Square pixels and at most POSTER_MAX_WIDTH wide; -2 keeps the height even for the encoder.
    scale = f"scale=w='min({POSTER_MAX_WIDTH},trunc(iw*sar/2)*2)':h=-2,setsar=1"
    result = _run([ffmpeg, "-nostdin", "-v", "error", *_SAFE_INPUT, "-ss", f"{at:.3f}", "-i", url,
                   "-frames:v", "1", "-vf", scale, "-q:v", "3", "-f", "image2pipe", "-vcodec", "mjpeg",
                   "pipe:1"], POSTER_TIMEOUT)
    if result is None or result.returncode != 0:
        return None
    image = result.stdout
    if not image.startswith(b"\xff\xd8") or len(image) > POSTER_MAX_BYTES:
        return None
    return image
