"""Walking routes on the store floor: A* on an occupancy grid that keeps people out of gondolas."""

from __future__ import annotations

import heapq
import math
from functools import lru_cache

import numpy as np

from edge.config.layout import StoreLayout, gondola_to_floor

CELL_M = 0.25
CLEARANCE_M = 0.2  # people keep this far from a gondola's footprint

Point = tuple[float, float]


class FloorRouter:
    """Shortest walkable routes between floor points, as waypoint lists in metres."""

    def __init__(self, layout: StoreLayout):
        floor = layout.config.floor
        self.nx = max(1, math.ceil(floor.width_m / CELL_M))
        self.ny = max(1, math.ceil(floor.depth_m / CELL_M))
        self.width_m = floor.width_m
        self.depth_m = floor.depth_m
        self.blocked = np.zeros((self.nx, self.ny), dtype=bool)
        for gondola in layout.config.gondolas:
            corners = [
                gondola_to_floor(gondola, u, v)
                for u in (0.0, gondola.length_m)
                for v in (0.0, gondola.depth_m)
            ]
            xs = [c[0] for c in corners]
            ys = [c[1] for c in corners]
            x0, x1 = min(xs) - CLEARANCE_M, max(xs) + CLEARANCE_M
            y0, y1 = min(ys) - CLEARANCE_M, max(ys) + CLEARANCE_M
            i0, i1 = max(0, int(x0 / CELL_M)), min(self.nx - 1, int(x1 / CELL_M))
            j0, j1 = max(0, int(y0 / CELL_M)), min(self.ny - 1, int(y1 / CELL_M))
            self.blocked[i0 : i1 + 1, j0 : j1 + 1] = True
        self._route_cells = lru_cache(maxsize=4096)(self._astar)

    def cell(self, p: Point) -> tuple[int, int]:
        i = min(self.nx - 1, max(0, int(p[0] / CELL_M)))
        j = min(self.ny - 1, max(0, int(p[1] / CELL_M)))
        return i, j

    def center(self, c: tuple[int, int]) -> Point:
        return ((c[0] + 0.5) * CELL_M, (c[1] + 0.5) * CELL_M)

    def _nearest_free(self, c: tuple[int, int]) -> tuple[int, int]:
        if not self.blocked[c]:
            return c
        best, best_d = c, math.inf
        for i in range(self.nx):
            for j in range(self.ny):
                if not self.blocked[i, j]:
                    d = (i - c[0]) ** 2 + (j - c[1]) ** 2
                    if d < best_d:
                        best, best_d = (i, j), d
        return best

    def route(self, start: Point, goal: Point) -> list[Point]:
        """Waypoints from start to goal (both included), avoiding gondolas."""
        a = self._nearest_free(self.cell(start))
        b = self._nearest_free(self.cell(goal))
        cells = self._route_cells(a, b)
        points = [start] + [self.center(c) for c in _corners(cells)[1:-1]] + [goal]
        return _dedupe(points)

    def _astar(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[tuple[int, int], ...]:
        if a == b:
            return (a,)
        moves = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0)]
        moves += [(dx, dy, math.sqrt(2)) for dx in (1, -1) for dy in (1, -1)]
        open_heap: list[tuple[float, float, tuple[int, int]]] = [(0.0, 0.0, a)]
        came: dict[tuple[int, int], tuple[int, int]] = {}
        cost = {a: 0.0}
        while open_heap:
            _, g, cur = heapq.heappop(open_heap)
            if cur == b:
                break
            if g > cost.get(cur, math.inf):
                continue
            for dx, dy, step in moves:
                nxt = (cur[0] + dx, cur[1] + dy)
                if not (0 <= nxt[0] < self.nx and 0 <= nxt[1] < self.ny) or self.blocked[nxt]:
                    continue
                # No corner cutting past a blocked cell on a diagonal.
                if (
                    dx
                    and dy
                    and (self.blocked[cur[0] + dx, cur[1]] or self.blocked[cur[0], cur[1] + dy])
                ):
                    continue
                ng = g + step
                if ng < cost.get(nxt, math.inf):
                    cost[nxt] = ng
                    came[nxt] = cur
                    h = math.hypot(b[0] - nxt[0], b[1] - nxt[1])
                    heapq.heappush(open_heap, (ng + h, ng, nxt))
        if b not in came:
            return (a, b)  # unreachable: walk straight (never happens on a valid floor plan)
        path = [b]
        while path[-1] != a:
            path.append(came[path[-1]])
        return tuple(reversed(path))


def _corners(cells: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Keep only cells where the direction changes: fewer, straighter segments."""
    if len(cells) <= 2:
        return list(cells)
    kept = [cells[0]]
    for prev, cur, nxt in zip(cells, cells[1:], cells[2:], strict=False):
        if (cur[0] - prev[0], cur[1] - prev[1]) != (nxt[0] - cur[0], nxt[1] - cur[1]):
            kept.append(cur)
    kept.append(cells[-1])
    return kept


def _dedupe(points: list[Point]) -> list[Point]:
    out = [points[0]]
    for p in points[1:]:
        if math.hypot(p[0] - out[-1][0], p[1] - out[-1][1]) > 1e-6:
            out.append(p)
    return out
