"""Per-provider options through the real flow: claim mapping, the userinfo endpoint, minimal scopes."""
from __future__ import annotations

import json

from learnspace.accounts.models import Identity
from learnspace.spaces.models import Space
from tests.accounts.oidc.checks import count, oidc_audit
from tests.fixtures.oidc import provider_entry, sign_in_via


def _app(make_app, oidc_world, **changes):
    """A second app whose one provider "hunan" is the good provider with *changes* to its entry."""
    entry = {**provider_entry("hunan", "湖南省教育统一身份认证", oidc_world.good.discovery_url), **changes}
    return make_app(env={"LEARNSPACE_OIDC_PROVIDERS": json.dumps([entry], ensure_ascii=False)})


def test_claim_mapping_reads_the_providers_own_claim_names(app, make_app, world, oidc_world):
    """A provider calling the teacher number jsgh and the name xm is matched through the mapping."""
    mapped = _app(make_app, oidc_world,
                  claims={"real_name": "xm", "teacher_number": "jsgh", "school_code": "xxbsm", "role": "sf"})
    oidc_world.set_user("t-li-mapped", xm="李老师", jsgh="T4301020001001", xxbsm="4301020001", sf="教师",
                        teacher_number="T-not-this-one")
    client = mapped.test_client()
    response = sign_in_via(client, oidc_world, "hunan", "t-li-mapped")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert count(app, Identity, Identity.user_id == world.people["teacher_a1"]) == 1

    # The mapped name is checked too: a wrong xm is refused even though the unmapped "name" is right.
    oidc_world.set_user("t-li-mapped-2", xm="李四", name="李老师", jsgh="T4301020001001")
    refused = sign_in_via(mapped.test_client(), oidc_world, "hunan", "t-li-mapped-2")
    assert refused.status_code == 403
    assert "name differs" in oidc_audit(app, "failure")[0]["detail"]


def test_userinfo_provider_signs_in_with_claims_from_the_userinfo_endpoint(app, make_app, world, oidc_world):
    with_userinfo = _app(make_app, oidc_world, userinfo=True)
    oidc_world.set_user("s-zhang", name="张小明", student_number="G430102201501010011", role="student")
    client = with_userinfo.test_client()
    response = sign_in_via(client, oidc_world, "hunan", "s-zhang")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "张小明的个人空间" in client.get("/space").get_data(as_text=True)
    assert count(app, Space, Space.owner_id == world.people["student_a1"]) == 1


def test_openid_scope_alone_matches_by_number(app, make_app, world, oidc_world):
    """Without the profile scope no name is sent; the number alone then decides (the name check is skipped)."""
    minimal = _app(make_app, oidc_world, scopes="openid")
    # "name" is a profile-scope claim: the provider withholds it, so the wrong name here never arrives.
    oidc_world.set_user("t-li-min", name="李四", teacher_number="T4301020001001")
    response = sign_in_via(minimal.test_client(), oidc_world, "hunan", "t-li-min")
    assert response.status_code == 302
    assert count(app, Identity, Identity.user_id == world.people["teacher_a1"]) == 1
