"""Acceptance 4: forest plot, funnel plot and power curve render to PNG, each in one line."""

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from plmresearch.effects import forest_plot, funnel_plot, meta_analysis, power_curve_plot  # noqa: E402

YI = [0.03, 0.12, -0.14, 1.18, 0.26, -0.06, -0.02, -0.32, 0.27, 0.80, 0.54, 0.18, -0.02, 0.23, -0.18, -0.06, 0.30,
      0.07, -0.07]
VI = [0.0156, 0.0216, 0.0279, 0.1391, 0.1362, 0.0106, 0.0106, 0.0484, 0.0269, 0.0630, 0.0912, 0.0497, 0.0835,
      0.0841, 0.0253, 0.0279, 0.0193, 0.0088, 0.0303]


def _saved(fig, path):
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=60)
    assert path.exists() and path.stat().st_size > 5_000


def test_forest_plot_png(tmp_path):
    _saved(forest_plot(meta_analysis(YI, VI, method="DL", test="knha")), tmp_path / "forest.png")
    _saved(forest_plot(YI, VI, labels=[f"S{i}" for i in range(19)], method="FE"), tmp_path / "forest_fe.png")


def test_funnel_plot_png(tmp_path):
    _saved(funnel_plot(meta_analysis(YI, VI)), tmp_path / "funnel.png")
    _saved(funnel_plot(YI, VI, egger=False), tmp_path / "funnel2.png")


def test_power_curve_png(tmp_path):
    fig = power_curve_plot("cluster", "n_clusters", range(10, 81, 5), effect_size=0.25, n_per_cluster=25, icc=0.2)
    _saved(fig, tmp_path / "power.png")
    fig2 = power_curve_plot("individual", "effect_size", [0.05, 0.1, 0.2, 0.3, 0.4], n=400)
    _saved(fig2, tmp_path / "power_es.png")
