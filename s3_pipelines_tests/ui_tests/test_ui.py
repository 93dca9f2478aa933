"""The Dagster UI on the demo, in headless Chromium (issue 14, item 4): every stream's assets in the
lineage; a one-partition materialization launched from the Materialize dialog, its run succeeding and
its rows and preview read from the asset page; a sensor turned on in the UI launching a run for a
new object, whose entities land in the catalog."""

from __future__ import annotations

import gzip
import json
import re
import time

import duckdb
import pytest

pytestmark = pytest.mark.timeout(400)

STREAM_ASSETS = {  # group -> the asset names its nodes show
    "events": ["objects", "records", "events_hourly"],
    "orders": ["objects", "records"],
    "slack_channels": ["objects", "records", "channels"],
    "slack_users": ["objects", "records", "users"],
}


def skip_community_dialog(page) -> None:
    page.add_locator_handler(page.get_by_text("Join the Dagster community"),
                             lambda: page.get_by_role("button", name="Skip").click())


def open_lineage(page, url: str) -> None:
    page.goto(url + "/asset-groups")
    page.get_by_text("Materialize all").wait_for()
    try:  # the community dialog, once per origin, would swallow the right-click below
        page.get_by_role("button", name="Skip").click(timeout=8000)
    except Exception:
        pass
    time.sleep(2)  # the graph lays out after the page
    if page.get_by_text("records", exact=True).filter(visible=True).count():
        return  # expanded earlier in this browser: the UI remembers it
    page.shots("lineage-collapsed")
    page.mouse.click(700, 850, button="right")  # the canvas' context menu
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.get_by_text("records", exact=True).filter(visible=True).first.wait_for()


def wait_for_run(page, url: str, job: str, timeout: float = 180) -> None:
    """Until the job's newest run succeeded (its runs tab), then open that run's page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(f"{url}/locations/s3_pipelines/jobs/{job}/runs")
        page.get_by_text("Status").first.wait_for()
        time.sleep(2)  # the list fills after its header
        if page.get_by_text("Success", exact=True).count():
            page.get_by_role("button", name="View").first.click()
            page.get_by_text("Success").first.wait_for()
            return
        assert not page.get_by_text("Failure", exact=True).count(), f"a run of {job} failed"
        time.sleep(3)
    raise AssertionError(f"no successful run of {job} within {timeout} s")


def test_lineage_materialize_dialog_run_rows_and_preview(ui, page):
    skip_community_dialog(page)
    open_lineage(page, ui.url)
    page.shots("lineage-expanded")
    body = page.inner_text("body")
    for group, names in STREAM_ASSETS.items():
        assert group in body
        for name in names:
            assert page.get_by_text(name, exact=True).filter(visible=True).count() >= 1, name
    assert page.get_by_text("records", exact=True).filter(visible=True).count() == 4  # one per stream
    # one partition per asset: the demo's objects arrived today and its partitions start there
    assert "1 partition" in body

    page.goto(ui.url + "/locations/s3_pipelines/jobs/orders_job")
    page.get_by_role("button", name=re.compile("Materialize all")).click()
    dialog = page.locator("[role=dialog]")
    dialog.get_by_text("Partition selection").wait_for()
    dialog.get_by_role("button", name="All", exact=True).click()  # every partition: the demo has one
    page.shots("materialize-dialog")
    launch = page.get_by_role("button", name="Launch 1 run")
    launch.wait_for()
    launch.click()
    page.get_by_text(re.compile("Launched run")).wait_for()
    page.shots("launched")

    wait_for_run(page, ui.url, "orders_job")
    page.shots("run-succeeded")

    page.goto(ui.url + "/assets/orders/records")
    page.get_by_text("Row count").first.wait_for()
    page.get_by_text("preview", exact=True).first.wait_for()
    page.shots("asset-page")
    text = page.inner_text("body")
    assert re.search(r"Row count\s+350\b", text), text[:2000]  # dagster/row_count: the demo's 350 orders
    # the materialization's metadata table: its `rows` entry, and the preview of the staged records
    rows = page.locator("tr", has=page.get_by_text("rows", exact=True)).first.inner_text()
    assert re.search(r"\b350\b", rows), rows
    preview = page.locator("tr", has=page.get_by_text("preview", exact=True)).first
    preview.scroll_into_view_if_needed()
    page.shots("preview-table")
    shown = preview.inner_text()
    assert "order_id" in shown and "customer" in shown and "cust-" in shown, shown[:500]

    # its objects end the run with their status after the load (an observation), not `pending`
    page.goto(ui.url + "/assets/orders/objects?view=events")
    page.get_by_text(re.compile("after the load")).first.wait_for()
    page.shots("objects-events")
    text = page.inner_text("body")
    assert "loaded" in text and "pending" not in text, text[:2000]

    # back in the lineage, the stream just loaded reads as loaded: its one partition filled
    open_lineage(page, ui.url)
    page.get_by_text("100% filled").first.wait_for()
    page.shots("lineage-after-run")  # docs/asset-graph.png in the README


def test_sensor_turned_on_in_the_ui_loads_a_new_object(ui, page):
    skip_community_dialog(page)
    page.goto(ui.url + "/locations/s3_pipelines/sensors/slack_users_sensor")
    toggle = page.locator("input[type=checkbox]").first  # the switch: a styled, hidden checkbox
    toggle.wait_for(state="attached")
    page.get_by_text("Sensor in").first.wait_for()
    assert not toggle.is_checked()
    page.shots("sensor-off")
    try:  # the visible switch is the input's parent
        toggle.locator("xpath=..").click(timeout=5000)
    except Exception:
        toggle.dispatch_event("click")
    page.wait_for_function("() => document.querySelector('input[type=checkbox]').checked")
    page.shots("sensor-on")

    users = [{"_airbyte_raw_id": f"ui{i}", "_airbyte_extracted_at": "2026-12-02T09:00:00Z", "_airbyte_meta": {},
              "_airbyte_data": {"id": f"UUI{i:04d}", "real_name": f"UI user {i}", "deleted": False,
                                "profile": {"email": f"ui{i}@example.com", "title": "eng"}, "tz": "UTC",
                                "is_admin": False}} for i in range(3)]
    key = "data/wSLvwtI1LFwQzXXX/users/year=2026/month=12/02_1796198400000_9.jsonl.gz"
    ui.s3().put_object(Bucket="demo-lake", Key=key,
                       Body=gzip.compress("".join(json.dumps(u) + "\n" for u in users).encode()))
    wait_for_run(page, ui.url, "slack_users_job", timeout=240)
    page.shots("sensor-run-succeeded")

    con = duckdb.connect(str(ui.root / ".s3_pipelines" / "catalog.duckdb"), read_only=True)
    try:
        landed = {r[0] for r in con.execute("SELECT identifier FROM s3p_entities WHERE blueprint = 'slack_user'").fetchall()}
    finally:
        con.close()
    assert {"UUI0000", "UUI0001", "UUI0002"} <= landed
    page.goto(ui.url + "/assets/slack_users/entities/users")
    page.get_by_text("Row count").first.wait_for()
    page.shots("entities-asset")


RUNS_QUERY = """query ($tag: String!) { runsOrError(filter: {tags: [{key: "s3_pipelines/trigger", value: $tag}]}) {
  ... on Runs { results { runId pipelineName status
    repositoryOrigin { repositoryLocationName repositoryName } } } } }"""


def test_cli_runs_sit_under_the_code_location(ui, page):
    """`s3-pipelines run` executes its runs in its own process; the UI places runs (Overview timeline,
    a job's runs) by their code location origin, which such a run lacked."""
    import subprocess
    import sys
    import urllib.request

    ui.s3().put_object(Bucket="demo-lake", Key="exports/orders/orders_2026-12-02_ui.csv",
                       Body=b"order_id,customer,amount,status,note\n9001,ui,1.5,paid,from the UI test\n")
    cli = subprocess.run([sys.executable, "-m", "s3_pipelines.cli", "run", "--select", "orders"],
                         cwd=ui.root, env=ui.env, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stdout + cli.stderr

    body = json.dumps({"query": RUNS_QUERY, "variables": {"tag": "cli"}}).encode()
    req = urllib.request.Request(ui.url + "/graphql", data=body, headers={"Content-Type": "application/json"})
    runs = json.loads(urllib.request.urlopen(req, timeout=60).read())["data"]["runsOrError"]["results"]
    orders = [r for r in runs if r["pipelineName"] == "orders_job"]
    assert orders and all(r["status"] == "SUCCESS" for r in orders), runs
    assert {(r["repositoryOrigin"] or {}).get("repositoryLocationName") for r in orders} == {"s3_pipelines"}, runs

    skip_community_dialog(page)
    page.goto(f"{ui.url}/locations/s3_pipelines/jobs/orders_job/runs")  # the job's runs list it
    page.get_by_text(orders[0]["runId"][:8]).first.wait_for()
    page.shots("cli-run-under-location")
    page.goto(f"{ui.url}/overview/activity/timeline")  # the Overview timeline has a row for the job
    page.get_by_text("orders_job").first.wait_for()
    page.shots("overview-timeline")
