"""Upload bytes on /metrics: counted once the parts are joined, by file kind; a repeated complete adds nothing."""
from __future__ import annotations

from prometheus_client import REGISTRY

from tests.lessons.uploads.conftest import fake_pdf
from tests.test_metrics import samples


def _counted(kind: str) -> tuple[float, float]:
    return (REGISTRY.get_sample_value("learnspace_upload_bytes_total", {"kind": kind}) or 0.0,
            REGISTRY.get_sample_value("learnspace_uploads_completed_total", {"kind": kind}) or 0.0)


def test_completed_upload_adds_its_bytes_once(uapp, teacher, lesson_id):
    data = fake_pdf(300_000)
    bytes_before, uploads_before = _counted("lesson_plan")
    done = teacher.upload(lesson_id, "lesson_plan", "教学设计.pdf", data, verify=False)
    assert done.status_code == 202, done.get_json()
    assert teacher.complete(done.get_json()["id"]).status_code == 200  # a second click: already joined
    assert _counted("lesson_plan") == (bytes_before + len(data), uploads_before + 1)
    scraped = samples(uapp.test_client().get("/metrics").get_data(as_text=True))
    assert scraped[("learnspace_upload_bytes_total", (("kind", "lesson_plan"),))] == bytes_before + len(data)
