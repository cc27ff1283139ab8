"""Pictures written to files with matplotlib (an optional extra: pip install 'adcli[plot]')."""

from __future__ import annotations

from adcli.errors import InputError


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib, which is not installed: pip install 'adcli[plot]' "
                         "(or pip install matplotlib)") from None
    return plt


def check_plot_file(path: str) -> None:
    """Fail early, before any work, on a file type matplotlib cannot write here or a missing matplotlib."""
    if not path.lower().endswith((".png", ".svg", ".pdf")):
        raise InputError(f"--plot {path}: the file must end in .png, .svg or .pdf")
    _pyplot()


def plot_comparison(comparison, path: str) -> None:
    """Error against h on log-log axes (with --sweep) and symbolic vs AD size against depth (--nest)."""
    plt = _pyplot()
    panels = [p for p in ("sweep", "swell") if (p == "sweep" and comparison.sweep) or
              (p == "swell" and len(comparison.swell) > 1)] or ["swell"]
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        if panel == "sweep":
            _draw_sweep(axis, comparison)
        else:
            _draw_swell(axis, comparison)
    _save(plt, figure, path)


def _save(plt, figure, path: str) -> None:
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as error:
        raise InputError(f"--plot {path}: cannot write the file ({error.strerror or error})") from None
    finally:
        plt.close(figure)


def _draw_sweep(axis, comparison) -> None:
    name = comparison.trace.input_names[0]
    methods: dict[str, list] = {}
    for row in comparison.sweep:
        if row.input == name and row.rel_error is not None:
            methods.setdefault(row.method, []).append((row.step, max(row.rel_error, 1e-17)))
    for method, points in methods.items():
        axis.loglog(*zip(*points), marker="o", markersize=3, label=method)
    axis.invert_xaxis()
    axis.set_xlabel("step h")
    axis.set_ylabel(f"relative error of ∂f/∂{name}")
    axis.set_title("finite differences: truncation vs round-off")
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(fontsize=8)


def _draw_swell(axis, comparison) -> None:
    depths = [row.depth for row in comparison.swell]
    axis.semilogy(depths, [row.trace_operations for row in comparison.swell], marker="o", label="AD trace")
    axis.semilogy(depths, [row.reverse_operations for row in comparison.swell], marker="o", label="reverse sweep")
    symbolic = [(row.depth, row.symbolic["derivative"]["ops"]) for row in comparison.swell
                if "ops" in row.symbolic.get("derivative", {})]
    if symbolic:
        axis.semilogy(*zip(*symbolic), marker="s", label="SymPy derivative")
    axis.set_xlabel("nesting depth k (f composed k times)")
    axis.set_ylabel("operations")
    axis.set_title("expression swell")
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(fontsize=8)


def plot_checkpoints(runs, path: str) -> None:
    """Stored values against recomputed steps, one point per strategy (log-log)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.8))
    for r in runs:
        if r.adjoints:
            axis.scatter(max(r.recomputed, 1), max(r.peak_stored, 1), s=30)
            axis.annotate(r.strategy.label, (max(r.recomputed, 1), max(r.peak_stored, 1)), fontsize=8,
                          xytext=(4, 4), textcoords="offset points")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("recomputed steps (1 where none)")
    axis.set_ylabel("peak stored values")
    axis.set_title("checkpointing: memory against recomputation")
    axis.grid(True, which="major", alpha=0.3)
    _save(plt, figure, path)
