"""Sparse Jacobians and Hessians: the pattern read off the trace, a colouring, one sweep per colour.

The pattern comes from index-set propagation (Griewank & Walther, *Evaluating Derivatives*, ch. 7-8):
a forward loop over the trace gives every node the set of inputs it depends on, and for a Hessian
every nonlinear operation adds the interactions its second partials can create (Walther's
nonlinear-interaction domains). Sets are shared and grown in place when their node is used for the
last time, so a long sum costs its length, not its length squared; an operation's cost is the size
of the sets it touches. No recursion.

Columns that share no row (Jacobian: a greedy distance-2 colouring of the columns) are seeded
together: one forward sweep per colour gives their sum, from which each entry is read directly. A
symmetric Hessian needs fewer colours: a star colouring (Gebremedhin, Manne & Pothen 2005,
Algorithm 4.1; ColPack's ``STAR``), in which every path on four vertices has three colours, still
lets each entry be read directly from one of the two products H·(sum of a colour's columns) that
hold it. Tridiagonal: 3 colours for any n.

The matrices stay sparse: a :class:`Pattern` is a list of column indices per row, and values come
aligned with it, so memory is the number of non-zeros plus one sweep's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adcli.errors import InputError
from adcli.primitives import CONST, FIRST_PRIMITIVE, INPUT, PRIMITIVES
from adcli.trace import NO_ARG, Trace

#: ``auto`` computes by colours when there are more than this many columns …
AUTO_MIN_COLUMNS = 20
#: … and the colours are fewer than this fraction of them.
AUTO_MAX_FRACTION = 0.5

_LINEAR = ("add", "sub", "neg")  # their second partials are zero whatever their arguments


@dataclass
class Pattern:
    """Where a matrix can be non-zero: ``rows[i]`` lists row ``i``'s columns in increasing order."""

    shape: tuple[int, int]
    rows: list[list[int]]

    @property
    def nonzeros(self) -> int:
        """The number of entries that can be non-zero."""
        return sum(map(len, self.rows))

    def columns(self) -> list[list[int]]:
        """``columns()[j]`` lists the rows of column ``j`` in increasing order (the transpose)."""
        columns: list[list[int]] = [[] for _ in range(self.shape[1])]
        for i, row in enumerate(self.rows):
            for j in row:
                columns[j].append(i)
        return columns

    def coordinates(self) -> tuple[list[int], list[int]]:
        """The row and the column of every entry, row by row."""
        return ([i for i, row in enumerate(self.rows) for _ in row], [j for row in self.rows for j in row])


@dataclass
class Sparsity:
    """A pattern, its colouring and (once computed by colours) the values at the pattern's entries."""

    pattern: Pattern
    colours: list[int]  # per column (per row when ``colouring`` is "rows"), from 0
    colouring: str  # "star" (a symmetric Hessian), "columns" or "rows" (a Jacobian's, distance-2)
    values: list[list[float]] | None = None  # aligned with ``pattern.rows``, when computed by colours

    @property
    def colour_count(self) -> int:
        """The number of colours: the sweeps a computation by colours takes."""
        return max(self.colours, default=-1) + 1

    @property
    def dense_sweeps(self) -> int:
        """The sweeps a dense computation takes: one per column (per row when colouring rows)."""
        return self.pattern.shape[0 if self.colouring == "rows" else 1]

    def entries(self) -> list[tuple[int, int, float]]:
        """Every computed entry as (row, column, value), row by row."""
        assert self.values is not None, "computed by colours only"
        return [(i, j, value) for i, (row, values) in enumerate(zip(self.pattern.rows, self.values))
                for j, value in zip(row, values)]


def check_sparse(sparse: str) -> None:
    """Raise :class:`InputError` unless ``sparse`` is auto, on or off."""
    if sparse not in ("auto", "on", "off"):
        raise InputError("choose auto, on or off", option="sparse", value=str(sparse))


def pays(columns: int, colours: int) -> bool:
    """Whether ``--sparse auto`` computes by colours: many columns, and colours fewer than half of them."""
    return columns > AUTO_MIN_COLUMNS and colours < AUTO_MAX_FRACTION * columns


# ---------------------------------------------------------------------------------------- patterns

class _Shared:
    """An index set and how many live nodes hold it: grown in place once no other node does."""

    __slots__ = ("items", "holders")

    def __init__(self, items: set[int], holders: int = 1) -> None:
        self.items = items
        self.holders = holders


_EMPTY = _Shared(set(), 1 << 62)  # never grown in place


def _index_sets(trace: Trace, nodes: Sequence[int], keep: Sequence[int],
                visit: Callable[[int, set[int], set[int]], None] | None = None) -> dict[int, set[int]]:
    """The set of ``nodes`` positions each node of ``keep`` depends on, by one forward loop.

    ``visit(node, first, second)``, when given, sees every operation with its arguments' sets
    (a missing argument's is empty) before they may be grown in place."""
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    uses = [0] * len(op)
    for i in range(len(op)):
        if op[i] >= FIRST_PRIMITIVE:
            uses[arg0[i]] += 1
            if arg1[i] != NO_ARG:
                uses[arg1[i]] += 1
    for node in keep:
        uses[node] += 1  # never released
    position = {node: k for k, node in enumerate(nodes)}
    sets: list[_Shared | None] = [None] * len(op)
    for i, code in enumerate(op):
        if code == INPUT:
            sets[i] = _Shared({position[i]}) if i in position else _EMPTY
            continue
        if code == CONST:
            sets[i] = _EMPTY
            continue
        a, b = arg0[i], arg1[i]
        first, second = sets[a], (_EMPTY if b == NO_ARG else sets[b])
        assert first is not None and second is not None  # an argument is released after its last use only
        if visit is not None:
            visit(i, first.items, second.items)
        for argument in (a, b) if b != NO_ARG else (a,):
            uses[argument] -= 1
            if not uses[argument]:
                released = sets[argument]
                assert released is not None
                released.holders -= 1
                sets[argument] = None
        union = sets[i] = _union(first, second)
        if not uses[i]:  # used by nothing: released at once
            union.holders -= 1
            sets[i] = None
    result: dict[int, set[int]] = {}
    for node in keep:
        shared = sets[node]
        assert shared is not None
        result[node] = shared.items
    return result


def _union(first: _Shared, second: _Shared) -> _Shared:
    """The union of two sets, sharing or growing one of them when that is safe."""
    big, small = (first, second) if len(first.items) >= len(second.items) else (second, first)
    if small is big or small.items <= big.items:
        big.holders += 1
        return big
    if not big.holders:  # nobody else holds it: grow it in place
        big.items |= small.items
        big.holders = 1
        return big
    return _Shared(big.items | small.items)


def jacobian_pattern(trace: Trace, nodes: Sequence[int]) -> Pattern:
    """Which outputs depend on which of the input ``nodes``: the Jacobian's pattern (a row per output)."""
    sets = _index_sets(trace, nodes, trace.outputs)
    return Pattern((len(trace.outputs), len(nodes)), [sorted(sets[o]) for o in trace.outputs])


def hessian_pattern(trace: Trace, nodes: Sequence[int]) -> Pattern:
    """Where the Hessian of the single output with respect to the input ``nodes`` can be non-zero.

    Each nonlinear operation the output depends on joins the inputs its arguments depend on, as its
    second partials do: a product x·y joins x's inputs with y's, a quotient u/w joins u's with w's
    and w's with themselves, any other nonlinear operation (exp, pow, max, …) joins all of its
    arguments' inputs with one another. Sums, differences and negation join nothing, nor does a
    product or a quotient by a constant."""
    needed = trace.needed()
    interactions: list[set[int]] = [set() for _ in nodes]
    op = trace.op

    def join(left: set[int], right: set[int]) -> None:
        for j in left:
            interactions[j] |= right
        for j in right:
            interactions[j] |= left

    def visit(node: int, first: set[int], second: set[int]) -> None:
        if not needed[node] or not (first or second):
            return
        name = PRIMITIVES[op[node]].name
        if name in _LINEAR:
            return
        if name == "mul":
            join(first, second)
        elif name == "div":
            if second:
                join(first, second)
                join(second, second)
        else:
            either = first | second
            join(either, either)

    _index_sets(trace, nodes, trace.outputs, visit)
    return Pattern((len(nodes), len(nodes)), [sorted(row) for row in interactions])


# ---------------------------------------------------------------------------------------- colourings

def _largest_first(degrees: Sequence[int]) -> list[int]:
    """The vertices by decreasing degree, ties by number: the order of a largest-first colouring."""
    return sorted(range(len(degrees)), key=lambda v: -degrees[v])


def _smallest_free(forbidden: list[int], vertex: int) -> int:
    colour = 0
    while forbidden[colour] == vertex:
        colour += 1
    return colour


def column_colouring(pattern: Pattern) -> list[int]:
    """A colour per column such that columns sharing a row differ (a greedy distance-2 colouring of
    the bipartite graph, largest first): one forward sweep per colour gives every entry directly."""
    return _distance2(pattern.columns(), pattern.rows)


def row_colouring(pattern: Pattern) -> list[int]:
    """A colour per row such that rows sharing a column differ: one reverse sweep per colour."""
    return _distance2(pattern.rows, pattern.columns())


def _distance2(lines: list[list[int]], across: list[list[int]]) -> list[int]:
    """Colour each of ``lines`` (columns, listing their rows) so that two sharing an entry of
    ``across`` (rows, listing their columns) differ: greedy, largest first."""
    colour = [-1] * len(lines)
    forbidden = [-1] * (len(lines) + 1)  # forbidden[c] == v: colour c is taken near v
    for v in _largest_first(list(map(len, lines))):
        for i in lines[v]:
            for w in across[i]:
                if colour[w] >= 0:
                    forbidden[colour[w]] = v
        colour[v] = _smallest_free(forbidden, v)
    return colour


def star_colouring(pattern: Pattern) -> list[int]:
    """A star colouring of a symmetric pattern's adjacency graph (Gebremedhin, Manne & Pothen 2005,
    Algorithm 4.1, largest first): neighbours differ, and every path on four vertices has at least
    three colours, so each entry of the Hessian is read directly from a product H·(sum of a colour's
    columns). Its cost is the number of paths of length three from each vertex."""
    neighbours = [[j for j in row if j != i] for i, row in enumerate(pattern.rows)]
    colour = [-1] * len(neighbours)
    forbidden = [-1] * (len(neighbours) + 1)
    for v in _largest_first(list(map(len, neighbours))):
        for w in neighbours[v]:
            if colour[w] >= 0:
                forbidden[colour[w]] = v
        for w in neighbours[v]:
            for x in neighbours[w]:
                if x == v or colour[x] < 0:
                    continue
                if colour[w] < 0:  # v - w - x: v and x must differ
                    forbidden[colour[x]] = v
                elif any(y != w and colour[y] == colour[w] for y in neighbours[x]):
                    forbidden[colour[x]] = v  # else v - w - x - y would have two colours
        colour[v] = _smallest_free(forbidden, v)
    return colour


# ---------------------------------------------------------------------------------------- recovery

def seeds(colours: Sequence[int]) -> list[list[int]]:
    """The columns of each colour: the columns one sweep seeds together."""
    groups: list[list[int]] = [[] for _ in range(max(colours, default=-1) + 1)]
    for column, colour in enumerate(colours):
        groups[colour].append(column)
    return groups


def recover_columns(pattern: Pattern, colours: Sequence[int],
                    compressed: Sequence[Sequence[float]]) -> list[list[float]]:
    """The entries at the pattern from ``compressed[c][i]`` = row i of (the matrix × the sum of colour
    c's columns), when columns of a colour share no row: each entry is its row's value for its colour."""
    return [[compressed[colours[j]][i] for j in row] for i, row in enumerate(pattern.rows)]


def recover_rows(pattern: Pattern, colours: Sequence[int], compressed: Sequence[Sequence[float]]) -> list[list[float]]:
    """The entries at the pattern from ``compressed[c][j]`` = column j of (the sum of colour c's rows ×
    the matrix), when rows of a colour share no column: each entry is its column's value for its row's colour."""
    return [[compressed[colours[i]][j] for j in row] for i, row in enumerate(pattern.rows)]


def recover_symmetric(pattern: Pattern, colours: Sequence[int],
                      compressed: Sequence[Sequence[float]]) -> list[list[float]]:
    """The entries of a symmetric matrix at its pattern, from a star colouring's products
    (``compressed[c][i]``: row i of H·(sum of colour c's columns)). Entry (i, j) is row i's value
    for j's colour when j is row i's only column of that colour, else row j's value for i's colour
    (the star colouring makes j the only one there)."""
    alone = []  # per row: the colours that only one of its columns has
    for row in pattern.rows:
        seen: dict[int, int] = {}
        for j in row:
            seen[colours[j]] = seen.get(colours[j], 0) + 1
        alone.append({c for c, count in seen.items() if count == 1})
    values = []
    for i, row in enumerate(pattern.rows):
        values.append([compressed[colours[j]][i] if colours[j] in alone[i] else compressed[colours[i]][j]
                       for j in row])
    return values
