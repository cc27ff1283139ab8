"""Pictures written to files with matplotlib (an optional extra: pip install 'adcli[plot]')."""

from __future__ import annotations

from adcli.errors import InputError


def _pyplot(what: str = "--plot"):
    """matplotlib's pyplot (drawing into files only), or the error that says how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(f"{what} needs matplotlib, which is not installed: pip install 'adcli[plot]' "
                         "(or pip install matplotlib)") from None
    return plt


def check_matplotlib(what: str) -> None:
    """Fail before any work when matplotlib is missing; ``what`` names the option that needs it."""
    _pyplot(what)


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


def curve_png(curve) -> bytes:
    """``adcli plot -o f.png``: f and its derivative, with the marks of :func:`_draw_curve`."""
    return _curve_file(curve, "png")


def curve_svg(curve) -> str:
    """``adcli plot -o f.svg``: as :func:`curve_png`, as SVG text (no date in it, the same for the same curve)."""
    return _curve_file(curve, "svg").decode()


def _curve_file(curve, image_format: str) -> bytes:

    plt = _pyplot(f"adcli plot --format {image_format}")
    plt.rcParams["svg.hashsalt"] = "adcli"
    figure, axes = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    try:
        _draw_curve(axes, curve)
    except BaseException:
        plt.close(figure)
        raise
    return _figure_bytes(plt, figure, image_format)


def _figure_bytes(plt, figure, image_format: str) -> bytes:
    """``figure`` as PNG or SVG bytes (an SVG without a date, the same for the same picture); closed."""
    import io

    try:
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format=image_format, metadata={"Date": None} if image_format == "svg" else None)
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _draw_curve(axes, curve) -> None:
    """f on top, its derivative below; dashed lines at branch changes, dotted at kinks, rings where a
    convention was used."""
    import numpy as np

    held = "".join(f", {name} = {value:g}" for name, value in curve.held.items())
    x = np.asarray(curve.x)

    def broken(values, gaps):
        """x and ``values`` with a NaN in each gap, so the line is not drawn across a change of rule."""
        cut = sorted({int(k) + 1 for a, b in gaps for k in np.flatnonzero((x[:-1] == a) & (x[1:] == b))})
        return np.insert(x, cut, np.nan), np.insert(np.asarray(values, dtype=float), cut, np.nan)

    for axis, values, label, gaps in ((axes[0], curve.value, "f", curve.branch_changes),
                                      (axes[1], curve.derivative, f"∂f/∂{curve.name}",
                                       curve.branch_changes + curve.kinks)):
        axis.plot(*broken(values, gaps), marker="." if len(x) <= 50 else None, linewidth=1.2)
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        for k, (a, b) in enumerate(curve.branch_changes):
            axis.axvline((a + b) / 2, color="tab:red", linestyle="--", linewidth=0.8,
                         label="branch change" if k == 0 else None)
        for k, (a, b) in enumerate(curve.kinks):
            axis.axvline((a + b) / 2, color="tab:orange", linestyle=":", linewidth=0.8,
                         label="kink" if k == 0 else None)
        if curve.conventions:
            at = np.isin(curve.x, curve.conventions)
            axis.scatter(curve.x[at], np.asarray(values)[at], facecolors="none", edgecolors="tab:green", s=40,
                         zorder=3, label="convention used")
    axes[0].set_title(f"f({curve.name}) = {curve.source}{held}")
    axes[1].set_xlabel(curve.name)
    if curve.branch_changes or curve.kinks or curve.conventions:
        axes[0].legend(fontsize=8)


def pattern_png(result) -> bytes:
    """``jacobian``/``hessian -o pattern.png``: where the matrix is non-zero (a spy picture), with
    the colouring when it was computed by colours."""
    return _pattern_file(result, "png")


def pattern_svg(result) -> str:
    """As :func:`pattern_png`, as SVG text."""
    return _pattern_file(result, "svg").decode()


def _pattern_file(result, image_format: str) -> bytes:

    rows, columns, shape, title = _pattern(result)
    plt = _pyplot(f"a picture of the pattern (--format {image_format})")
    plt.rcParams["svg.hashsalt"] = "adcli"
    side = min(7.0, max(3.0, 0.25 * max(shape)))
    figure, axis = plt.subplots(figsize=(side, side))
    try:
        size = max(0.5, min(40.0, 4000.0 / max(shape)))  # points² per entry: visible at n = 2,000
        axis.scatter(columns, rows, s=size, marker="s", linewidths=0, color="black")
        axis.set_xlim(-0.5, shape[1] - 0.5)
        axis.set_ylim(shape[0] - 0.5, -0.5)  # row 0 at the top, as a matrix is written
        axis.set_aspect("equal")
        axis.set_title(title, fontsize=9)
    except BaseException:
        plt.close(figure)
        raise
    return _figure_bytes(plt, figure, image_format)


def _pattern(result) -> tuple[list[int], list[int], tuple[int, int], str]:
    """The rows and columns of the non-zeros of a Jacobian or Hessian, its shape, and a title."""
    sparsity = result.sparsity
    if sparsity is not None:
        rows, columns = sparsity.pattern.coordinates()
        shape = sparsity.pattern.shape
        how = f"{sparsity.colouring} colouring: {max(sparsity.colours, default=-1) + 1} colours"
    else:
        matrix = result.matrix
        entries = [(i, j) for i, row in enumerate(matrix) for j, value in enumerate(row) if value != 0]
        rows, columns = [i for i, _ in entries], [j for _, j in entries]
        shape = (len(matrix), len(matrix[0]) if matrix else 0)
        how = "computed densely"
    return rows, columns, shape, f"{len(rows):,} non-zeros of {shape[0]:,} × {shape[1]:,} ({how})"
