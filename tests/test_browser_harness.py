"""The browser harness itself: Debian's Chromium renders a page served by the test's app, Chinese glyphs included."""
import pytest

pytestmark = pytest.mark.browser


def test_chromium_renders_the_health_page(page, live_server, screenshot):
    response = page.request.get("/healthz")  # the live server answers over real HTTP
    assert response.status in (200, 503)
    page.set_content("<html lang='zh-Hans'><body style='font-size:40px'>网格巡查 立即同步</body></html>")
    assert page.inner_text("body") == "网格巡查 立即同步"
    assert screenshot(page, "harness").stat().st_size > 1000
