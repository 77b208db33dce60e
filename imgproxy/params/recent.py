"""Plans of the queries seen lately: a URL asked for again is not parsed again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Plan

Query = tuple[tuple[str, str], ...]


class RecentPlans:
    """The plans of the last `size` distinct queries, under one server's decode options. A query
    that fails is decoded again each time: only plans are kept."""

    def __init__(self, options: DecodeOptions, size: int = 1024) -> None:
        self.options = options
        self.size = size
        self._plans: OrderedDict[Query, Plan] = OrderedDict()

    def decode(self, pairs: Sequence[tuple[str, str]]) -> Plan:
        query = tuple(pairs)
        plan = self._plans.get(query)
        if plan is not None:
            self._plans.move_to_end(query)
            return plan
        plan = decode(query, self.options)
        self._plans[query] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan
