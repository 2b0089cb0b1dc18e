"""The example widget tested with the fixtures layoutserver ships for widget authors."""

import pytest
from marshmallow import ValidationError


def test_renders_the_form_with_its_options(render_widget):
    result = render_widget("newsletter_signup", {"heading": "Morning <brief>", "action": "/nl"})
    assert result.outcome == "miss"
    assert 'action="/nl"' in result.html
    assert "Morning &lt;brief&gt;" in result.html


def test_action_must_be_a_site_path(render_widget):
    with pytest.raises(ValidationError) as error:
        render_widget("newsletter_signup", {"action": "javascript:alert(1)"})
    assert "action" in error.value.messages


def test_second_render_comes_from_the_cache(render_widget):
    first = render_widget("newsletter_signup", {"action": "/nl"})
    second = render_widget("newsletter_signup", {"action": "/nl"})
    assert (first.outcome, second.outcome) == ("miss", "hit")
    assert first.html == second.html
