"""The run screen's harder states, with a test target: a post that fails shows its reason and
"Try again" publishes it; a spent daily budget waits for the time the target gave and goes on
by itself (the "continues at ..." state)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pindah.adapters import contract as c
from tests.app_support import AppClient, private_home
from tests.cli_support import with_target


class FlakyAdapter(c.Adapter):
    """Publishes into a dict; refuses the posts in `refuse`; says its budget is spent once."""

    name = "flaky"
    description = "a test target"
    example = "flaky"
    capabilities = c.Capabilities(max_text=5000, max_media_per_post=10, backdating=True)
    posts: ClassVar[dict[str, dict[str, Any]]] = {}
    refuse: ClassVar[set[str]] = set()
    budget_spent_once: ClassVar[bool] = False

    def account(self) -> str:
        return "flaky-account"

    def upload_media(self, media: c.PreparedMedia, key: str) -> c.RemoteRef:
        return c.RemoteRef(f"m:{key}")

    def create_post(self, request: c.PostRequest) -> c.RemoteRef:
        if request.post_id in self.refuse:
            raise c.PostFailed("the server refused this picture")
        if FlakyAdapter.budget_spent_once and len(self.posts) == 2:
            FlakyAdapter.budget_spent_once = False
            raise c.RunStopped("the daily limit is spent", resume_at=datetime.now(timezone.utc) + timedelta(seconds=1))
        self.posts.setdefault(request.key, {"text": request.text, "media": len(request.media)})
        return c.RemoteRef(f"p:{request.key}")

    def find_post(self, request: c.PostRequest) -> c.RemoteRef | None:
        return c.RemoteRef(f"p:{request.key}") if request.key in self.posts else None

    def read_post(self, ref: c.RemoteRef) -> dict[str, Any] | None:
        return self.posts.get(ref.id[2:])


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppClient:
    home = private_home(monkeypatch, tmp_path)
    with_target(monkeypatch, tmp_path, FlakyAdapter)
    FlakyAdapter.posts, FlakyAdapter.refuse, FlakyAdapter.budget_spent_once = {}, set(), False
    client = AppClient()
    client.choose_sample(home)
    client.app.state.workspace.session.add_target("flaky")
    return client


def test_a_failed_post_shows_its_reason_and_try_again_publishes_it(app: AppClient) -> None:
    first = app.app.state.workspace.export().posts[0].id
    FlakyAdapter.refuse = {first}
    app.post("/run/start")
    snapshot = app.wait_for_run()
    assert snapshot["targets"][0]["failed"] == {first: "the server refused this picture."}
    page = app.get("/run")
    assert "7 published, 0 to do, 1 failed" in page.text
    assert f"<code>{first}</code>: the server refused this picture." in page.text
    assert f'name="post_id" value="{first}"' in page.text
    FlakyAdapter.refuse = set()
    app.post("/run/retry", {"spec": "flaky", "post_id": first})  # that post's own "Try again"
    app.wait_for_run()
    assert "8 published, 0 to do, 0 failed" in app.get("/run").text
    assert len({key.split("#")[0] for key in FlakyAdapter.posts}) == 8


def test_a_spent_daily_budget_waits_for_the_targets_time_and_goes_on_by_itself(app: AppClient) -> None:
    FlakyAdapter.budget_spent_once = True
    runs = app.app.state.runs
    app.post("/run/start")
    seen_limit = False
    while runs.running:
        state = runs.snapshot()["targets"][0]
        seen_limit = seen_limit or (state["state"] == "limit" and state["resume_at"] is not None)
        runs.thread.join(0.01)
    assert seen_limit  # the page said "continues at ..." while it waited
    assert runs.snapshot()["targets"][0]["state"] == "done"
    assert "8 published, 0 to do, 0 failed" in app.get("/run").text


def test_the_time_left_follows_the_targets_own_limits_when_they_are_slower(app: AppClient) -> None:
    import threading

    from pindah.migrator.app.runs import TargetProgress, _AppProgress
    from pindah.migrator.planner import plan_posts

    slow = c.Capabilities(max_text=5000, backdating=True, rate_budgets=(c.RateBudget("posts", 2, 3600),))
    plans = plan_posts(app.app.state.workspace.export().posts, slow)
    progress = _AppProgress(TargetProgress("flaky"), plans, threading.Event(), lambda: None, slow)
    progress.start(len(plans), 0)
    progress.post_done(1)
    # 7 posts left at 2 an hour: at least 3 more hours of waiting, however fast the first was.
    assert progress.tp.eta_seconds is not None and progress.tp.eta_seconds >= 3 * 3600
    assert progress.tp.current == plans[1].post.id
