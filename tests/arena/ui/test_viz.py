"""The SolaraViz page: sliders from Physics.describe(), a model from flat keywords, two live plots."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
import solara
from arena_fixtures import scenario
from fakes import BagOfWordsEmbedder
from mesa.visualization.solara_viz import _check_model_params

from arena.physics import Physics
from arena.ui.cli import main
from arena.ui.viz import ArenaVizModel, build_page, model_params, snapshot_view, zone_load_view


def test_one_slider_per_physics_parameter_accepted_by_mesa():
    sc = scenario()
    params = model_params(sc)
    _check_model_params(ArenaVizModel.__init__, params)  # what SolaraViz checks on reset
    for name, spec in Physics.describe().items():
        p = params[name]
        assert p["type"] == ("SliderInt" if spec["integer"] else "SliderFloat")
        assert p["value"] == getattr(sc.physics, name)
        assert p["min"] == spec["min"] and p["min"] <= p["value"] <= p["max"]
    assert params["router"]["values"][0] == "physics"


def test_the_model_takes_physics_as_keywords_as_solaraviz_passes_them():
    m = ArenaVizModel(
        scenario(), router="least_loaded", seed=4, embedder=BagOfWordsEmbedder(), temperature=0.3
    )
    assert m.physics == scenario().physics.replace(temperature=0.3)
    assert (m.router.name, m.seed_value) == ("least_loaded", 4)
    with pytest.raises(TypeError, match=r"unknown physics parameters \['warp'\]"):
        ArenaVizModel(scenario(), embedder=BagOfWordsEmbedder(), warp=1.0)


def test_the_page_renders_the_snapshot_and_zone_load_of_its_model():
    _, rc = solara.render(build_page(scenario(), BagOfWordsEmbedder()), handle_error=False)
    images = rc.find(widgets.Image).widgets
    assert len(images) == 2 and all(i.value[:4] == b"\x89PNG" for i in images)
    m = ArenaVizModel(scenario(), embedder=BagOfWordsEmbedder())
    m.run(10)
    for view in (snapshot_view, zone_load_view):
        _, rc = solara.render(view(m), handle_error=False)
        assert rc.find(widgets.Image).widget.value[:4] == b"\x89PNG"


def test_cli_viz_reports_a_missing_scenario_in_one_line(tmp_path, capsys):
    assert main(["viz", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: scenario file not found" in capsys.readouterr().err


def test_the_front_end_solara_asks_for_is_installed_locally():
    """Every file the production page loads from ``{{cdn}}`` (Vuetify 2 app, RequireJS, Font
    Awesome) is in the local asset store solara serves from, so no CDN is needed: a solara
    upgrade asking for versions solara-assets lacks fails here, without a browser."""
    import re
    from pathlib import Path

    import ipywidgets
    from solara.server import settings

    from arena.ui.viz import offline_assets_installed

    assert offline_assets_installed()
    template = Path(solara.__file__).parent / "server" / "templates" / "solara.html.j2"
    text = template.read_text().replace(
        "{{assets.fontawesome_path}}", settings.assets.fontawesome_path
    )
    major = ipywidgets.__version__.split(".")[0]
    wanted = {
        m.replace("{{ipywidget_major_version}}", major)
        for m in re.findall(r'\{\{cdn\}\}/([^"]+)"', text)
        if "vuetify3" not in m  # Vue 3 pages only (ipyvuetify 3), not Mesa 3's SolaraViz
    }
    for package in ("solara-vuetify-app@", "requirejs@", "font-awesome@"):  # what a page needs
        assert any(package in w for w in wanted), package
    store = settings.assets.proxy_cache_dir
    missing = sorted(w for w in wanted if not (store / w).is_file())
    assert not missing, f"not in {store}: {missing}"
